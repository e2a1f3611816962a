"""Time a message store's ``append_batch`` alone (PostgreSQL; SQLite with ``--sqlite``), optionally beside another version of it.

    .venv/bin/python -m bench.store_append
    git show 33cb1ca:src/careconnect/chat_store.py > /tmp/chat_store_before.py
    .venv/bin/python -m bench.store_append --compare /tmp/chat_store_before.py
    .venv/bin/python -m bench.store_append --sqlite        # the embedded default's store

Makes a fresh database on the local PostgreSQL (``--postgres``), migrates it, and appends 600
batches of consultation-room messages with the audit on (as the application's hub does), one
batch at a time or ``concurrency`` at once, for a few batch sizes; prints p50 / p99 per batch and
messages/s. First it prints the floor on the same server: a bare round trip (``SELECT 1``) and
the cheapest durable write (a one-column ``INSERT`` and its commit), 3,000 of each on one
connection. The database is dropped afterwards. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.infra import migrate, migrated_postgres_database  # noqa: E402

from careconnect.hub.store import NewMessage  # noqa: E402

SHAPES = [(1, 1), (10, 1), (50, 1), (1, 4)]  # (messages per batch, batches in flight)
BATCHES = 600


def load(path: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def measure(module: ModuleType, url: str, label: str, size: int, concurrency: int) -> str:
    kind = "SqliteMessageStore" if url.startswith("sqlite") else "PostgresMessageStore"
    store = getattr(module, kind)(url, audit=True)
    await store.start()
    rooms = [f"consultation:{uuid.uuid4()}" for _ in range(200)]
    latencies: list[float] = []

    async def one(i: int) -> None:
        batch = [
            NewMessage(
                room=rooms[(i * size + j) % len(rooms)],
                client_id=f"{label}-{i}-{j}",
                sender_id=str(uuid.uuid4()),
                sender_role="patient",
                sender_name="P",
                body="x" * 100,
            )
            for j in range(size)
        ]
        start = time.perf_counter()
        await store.append_batch(batch)
        latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    for k in range(0, BATCHES, concurrency):
        await asyncio.gather(*(one(k + c) for c in range(concurrency)))
    elapsed = time.perf_counter() - began
    await store.close()
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2] * 1e3, latencies[int(len(latencies) * 0.99)] * 1e3
    return (
        f"{label:8} {size:3} msg/batch, {concurrency} in flight: "
        f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  {BATCHES * size / elapsed:,.0f} msg/s"
    )


async def floor(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, x int)")
        for label, sql in (
            ("a round trip (SELECT 1)", "SELECT 1"),
            ("a durable one-row INSERT + commit", "INSERT INTO bench_floor (x) VALUES (1)"),
        ):
            latencies = []
            for _ in range(3000):
                start = time.perf_counter()
                await connection.execute(sql)
                latencies.append(time.perf_counter() - start)
            latencies.sort()
            print(f"floor: {label}: p50 {latencies[1500] * 1e3:.2f} ms  p99 {latencies[2970] * 1e3:.2f} ms", flush=True)
    finally:
        await connection.close()


async def main(args: argparse.Namespace) -> None:
    import careconnect.chat_store as current

    if not args.url.startswith("sqlite"):
        await floor(args.url)
    versions = [("current", current)]
    if args.compare:
        versions.insert(0, ("compare", load(args.compare, "chat_store_compare")))
    for size, concurrency in SHAPES:
        for label, module in versions:
            print(await measure(module, args.url, label, size, concurrency), flush=True)


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", help="another chat_store.py to time first, beside the current one")
    parser.add_argument("--sqlite", action="store_true", help="time the SQLite store (a fresh file) instead")
    args = parser.parse_args()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            args.url = f"sqlite:///{folder}/store.db"
            migrate(args.url)
            asyncio.run(main(args))
        return
    with migrated_postgres_database() as url:
        args.url = url
        asyncio.run(main(args))


if __name__ == "__main__":
    run()
