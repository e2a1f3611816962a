"""What sign-ins cost everyone else on the worker: ``/healthz`` round trips while logins run.

    .venv/bin/python -m bench.signin_stall [--logins 20] [--rounds 5]

Starts ``careconnect serve`` (one worker, a fresh SQLite file), registers one patient, then
probes ``/healthz`` every 10 ms, first alone, then while ``--logins`` logins at a time run
``--rounds`` times. Each login verifies an argon2 hash (50-200 ms of CPU here); a probe waits for
whatever the worker's event loop is doing, as every chat socket on that worker would. Prints the
probes' p50, p90, p99, max and mean in ms, idle and during the logins, as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.run import Server, free_port
from careconnect.loadtest.stats import percentiles

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-0123"


async def _probe(http: httpx.AsyncClient, until: asyncio.Event, out: list[float]) -> None:
    while not until.is_set():
        started = time.perf_counter()
        assert (await http.get("/healthz")).status_code == 200
        out.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)


async def measure(base: str, logins: int, rounds: int) -> dict[str, object]:
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as http,
        httpx.AsyncClient(base_url=base, timeout=60) as probe_http,
    ):
        email = "stall@example.com"
        body = {"email": email, "password": PASSWORD, "full_name": "Stall Probe", "role": "patient"}
        assert (await http.post("/api/v1/auth/register", json=body)).status_code == 201
        idle: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(_probe(probe_http, stop, idle))
        await asyncio.sleep(3)
        stop.set()
        await task
        busy: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(_probe(probe_http, stop, busy))
        started = time.perf_counter()
        for _ in range(rounds):
            answers = await asyncio.gather(
                *(http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}) for _ in range(logins))
            )
            assert {a.status_code for a in answers} == {200}, {a.status_code for a in answers}
        elapsed = time.perf_counter() - started
        stop.set()
        await task
    return {
        "logins": logins * rounds,
        "logins_per_s": round(logins * rounds / elapsed, 1),
        "idle_ms": {"n": len(idle), **percentiles(idle)},
        "during_logins_ms": {"n": len(busy), **percentiles(busy)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cc-bench-signin-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'cc.db'}",
        "SECRET_KEY": "bench-" + "s" * 40,
        "CARECONNECT_ENV": "test",
        "COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
        "THROTTLE_PER_ADDRESS": "1000000",
        "THROTTLE_PER_ACCOUNT": "100000",
        "THROTTLE_PER_PAIR": "1000",
    }
    subprocess.run([sys.executable, "-m", "careconnect", "migrate"], env=env, cwd=REPO, check=True, capture_output=True)
    server = Server([sys.executable, "-m", "careconnect", "serve", "--port", str(port)], port, work / "server.log", env)
    try:
        server.wait_ready(60)
        result = asyncio.run(measure(f"http://127.0.0.1:{port}", args.logins, args.rounds))
    finally:
        server.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
