"""`make soak`: ten minutes of clinic traffic against one server; memory and descriptors stay flat.

Starts `careconnect serve` on a fresh SQLite file (or DATABASE_URL/REDIS_URL when set), runs
`careconnect loadtest --workload clinic` in one-minute rounds against the same rooms, samples
the server's RSS and open file descriptors after each round, and fails (exit 1) if a round
lost or doubled a message, or if RSS grew by more than 20% or descriptors by more than 50
between the second round and the last.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def sample(pid: int) -> tuple[float, int]:
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def wait_until_ready(base: str, server: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    """Until ``/readyz`` answers 200 (a fixed sleep let the first round meet a server still
    starting on PostgreSQL + Redis: 100 connect failures counted as a lost round)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"soak: the server exited with {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"soak: {base}/readyz did not answer 200 within {timeout_s:g} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cc-soak-"))
    env = {
        **os.environ,
        "CARECONNECT_ENV": "test",
        "SECRET_KEY": "soak-secret-" + "s" * 32,
        "WS_SEND_LIMIT": "1000",
        "ACCESS_TOKEN_MINUTES": "120",
        "LOG_LEVEL": "WARNING",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{folder / 'soak.db'}")
    subprocess.run([PY, "-m", "careconnect", "migrate"], env=env, check=True, capture_output=True)
    rooms = folder / "rooms.json"
    subprocess.run(
        [PY, "-m", "careconnect", "seed", "--load", str(args.rooms), "--out", str(rooms)],
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [PY, "-m", "careconnect", "serve", "--port", str(args.port)],
        env=env,
        stdout=open(folder / "server.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    wait_until_ready(f"http://127.0.0.1:{args.port}", server)
    samples = []
    failed = False
    try:
        rounds = max(2, int(args.minutes))
        for i in range(rounds):
            result = subprocess.run(
                [
                    PY,
                    "-m",
                    "careconnect",
                    "loadtest",
                    "--url",
                    f"http://127.0.0.1:{args.port}",
                    "--rooms-file",
                    str(rooms),
                    "--workload",
                    "clinic",
                    "--rooms",
                    str(args.rooms),
                    "--duration",
                    str(60 * args.minutes / rounds - 5),
                    "--json",
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            report = json.loads(result.stdout[result.stdout.index("{") :])
            rss, fds = sample(server.pid)
            samples.append(
                {
                    "round": i + 1,
                    "rss_mb": round(rss, 1),
                    "fds": fds,
                    "delivered": report["delivered"],
                    "check": report["delivery_check"],
                }
            )
            print(json.dumps(samples[-1]), flush=True)
            failed |= result.returncode != 0
    finally:
        server.terminate()
        server.wait(30)
    base, last = samples[1], samples[-1]
    grew = last["rss_mb"] > base["rss_mb"] * 1.2 or last["fds"] > base["fds"] + 50
    print(
        f"rss {base['rss_mb']} -> {last['rss_mb']} MB, fds {base['fds']} -> {last['fds']}: "
        f"{'FAIL' if grew or failed else 'flat, nothing lost'}"
    )
    return 1 if grew or failed else 0


if __name__ == "__main__":
    sys.exit(main())
