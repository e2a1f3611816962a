"""Attachment throughput and server memory: N concurrent uploads of SIZE bytes, then N downloads.

    .venv/bin/python -m bench.attachments                      # 10 x 10 MiB, SQLite, files on disk
    .venv/bin/python -m bench.attachments --storage postgres --database postgresql://postgres@127.0.0.1:5432/bench_att

Starts its own `careconnect serve` (one worker) on a free port with a fresh SQLite file (or the
given PostgreSQL database, created beforehand), opens one consultation through the API, and
measures wall time and the server process tree's RSS (from /proc) before, at its peak while
the transfers run (sampled every 20 ms), and after. PDFs are used because they are stored as
sent: the measure is the streaming path (multipart parser -> temp file -> blob store), not
Pillow's decoding. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from careconnect.loadtest.rooms import open_consultation

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss_kib(pid: int) -> int:
    """RSS of ``pid`` and its children, in KiB."""
    total, queue = 0, [pid]
    while queue:
        current = queue.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        queue.extend(int(c) for c in children)
    return total


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.running = pid, 0, True

    async def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            await asyncio.sleep(0.02)


def payload(size: int, n: int) -> bytes:
    head = f"%PDF-1.4\n% bench file {n}\n".encode()
    return head + os.urandom(size - len(head))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--size", type=int, default=10 * 1024 * 1024)
    parser.add_argument("--storage", default="", help="STORAGE_URL (default: file:// in a temp folder)")
    parser.add_argument("--database", default="", help="DATABASE_URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cc-bench-att-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database or f"sqlite:///{work / 'cc.db'}",
        "STORAGE_URL": args.storage or f"file://{work / 'blobs'}",
        "ATTACHMENT_MAX_BYTES": str(max(args.size, 1024)),
        "SECRET_KEY": "bench-" + "s" * 40,
        "CARECONNECT_ENV": "test",
        "COOKIE_SECURE": "false",
        "THROTTLE_PER_ADDRESS": "100000",
    }
    subprocess.run([sys.executable, "-m", "careconnect", "migrate"], env=env, cwd=REPO, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "careconnect", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            room = await open_consultation(http, label="Bench")
            files = [payload(args.size, n) for n in range(args.count)]
            # One warm-up upload so imports and pools are in place before "before" is measured.
            await http.post(
                f"/api/v1/consultations/{room.id}/attachments",
                files={"file": ("warm.pdf", files[0][:4096])},
                headers=room.patient.headers,
            )
            before = tree_rss_kib(server.pid)
            sampler = Sampler(server.pid)
            sampling = asyncio.create_task(sampler.run())

            async def up(n: int) -> str:
                response = await http.post(
                    f"/api/v1/consultations/{room.id}/attachments",
                    files={"file": (f"file{n}.pdf", files[n], "application/pdf")},
                    headers=room.patient.headers,
                )
                assert response.status_code == 201, response.text
                return str(response.json()["id"])

            started = time.perf_counter()
            ids = await asyncio.gather(*(up(n) for n in range(args.count)))
            upload_s = time.perf_counter() - started
            upload_peak = sampler.peak
            after_upload = tree_rss_kib(server.pid)
            sampler.peak = 0

            async def down(file_id: str) -> int:
                size = 0
                async with http.stream("GET", f"/api/v1/attachments/{file_id}", headers=room.doctor.headers) as r:
                    assert r.status_code == 200
                    async for chunk in r.aiter_bytes():
                        size += len(chunk)
                return size

            started = time.perf_counter()
            sizes = await asyncio.gather(*(down(i) for i in ids))
            download_s = time.perf_counter() - started
            assert sizes == [args.size] * args.count
            sampler.running = False
            await sampling
            total_mib = args.count * args.size / 2**20
            print(
                json.dumps(
                    {
                        "count": args.count,
                        "size_bytes": args.size,
                        "storage": env["STORAGE_URL"].split(":")[0],
                        "database": env["DATABASE_URL"].split(":")[0],
                        "upload_s": round(upload_s, 2),
                        "upload_mib_s": round(total_mib / upload_s, 1),
                        "download_s": round(download_s, 2),
                        "download_mib_s": round(total_mib / download_s, 1),
                        "rss_before_mib": round(before / 1024, 1),
                        "rss_peak_upload_mib": round(upload_peak / 1024, 1),
                        "rss_after_upload_mib": round(after_upload / 1024, 1),
                        "rss_peak_download_mib": round(sampler.peak / 1024, 1),
                        "rss_after_mib": round(tree_rss_kib(server.pid) / 1024, 1),
                        "files_total_mib": round(total_mib, 1),
                    },
                    indent=2,
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
