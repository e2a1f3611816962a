"""A probe on the garbage collector of `careconnect serve`, for benchmarks only.

    PYTHONPATH=bench/gcprobe .venv/bin/python -m bench.run --reuse-rooms --targets careconnect \
        --workloads clinic --clinic-rooms 1000
    cat /tmp/gcprobe-*.log

Python imports ``sitecustomize`` at start-up from ``PYTHONPATH``; `bench.run` hands its
environment to the servers it starts. In a `careconnect serve` process this logs every full
collection (its time, what it found, the old generation's size) and every younger one that took
over 2 ms, one line each, to ``$BENCH_GC_LOG_DIR/gcprobe-<pid>.log`` (default /tmp). Other
processes (the load generator, the peers) are left alone.
"""

import gc
import os
import sys
import time

if "serve" in sys.argv:
    _log = open(  # noqa: SIM115 - open for the process's life
        os.path.join(os.environ.get("BENCH_GC_LOG_DIR", "/tmp"), f"gcprobe-{os.getpid()}.log"), "a", buffering=1
    )
    _started = [0.0]

    def _probe(phase: str, info: dict) -> None:
        if phase == "start":
            _started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - _started[0]) * 1000
        generation = info["generation"]
        if generation == 2:
            old = len(gc.get_objects(generation=2))
            _log.write(f"{time.time():.3f} full {ms:.1f} ms collected={info['collected']} old={old}\n")
        elif ms > 2:
            _log.write(f"{time.time():.3f} gen{generation} {ms:.1f} ms collected={info['collected']}\n")

    gc.callbacks.append(_probe)
