"""Time a message store's ``append_batch`` alone (PostgreSQL; SQLite with ``--sqlite``), optionally beside another version of it.

    .venv/bin/python -m bench.store_append
    git show 33cb1ca:src/careconnect/chat_store.py > /tmp/chat_store_before.py
    .venv/bin/python -m bench.store_append --compare /tmp/chat_store_before.py
    .venv/bin/python -m bench.store_append --sqlite        # the embedded default's store

Makes a fresh database on the local PostgreSQL (``--postgres``), migrates it, and appends 600
batches of messages to 200 consultation rooms (real appointments, so each message leaves its
audit record, as in the application's hub), one batch at a time or ``concurrency`` at once, for a
few batch sizes; prints p50 / p99 per batch and messages/s (with ``--compare``, the two versions
take turns step by step, so drift over the run falls on both). First it prints the floor on the same server: a bare round trip (``SELECT 1``) and
the cheapest durable write (a one-column ``INSERT`` and its commit), 3,000 of each on one
connection. The database is dropped afterwards. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import sqlite3
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


async def measure(
    versions: list[tuple[str, ModuleType]], url: str, size: int, concurrency: int
) -> list[tuple[str, float, float, float]]:
    """Each version's (label, p50 ms, p99 ms, messages/s) per batch for one shape. The versions take turns
    step by step (one step = ``concurrency`` batches at once), so drift in the server over the
    run (the tables growing, a checkpoint) falls on all of them alike."""
    kind = "SqliteMessageStore" if url.startswith("sqlite") else "PostgresMessageStore"
    stores = [getattr(module, kind)(url, audit=True) for _, module in versions]
    for store in stores:
        await store.start()
    latencies: list[list[float]] = [[] for _ in versions]
    elapsed = [0.0 for _ in versions]

    async def one(v: int, i: int) -> None:
        batch = [
            NewMessage(
                room=ROOMS[(i * size + j) % len(ROOMS)],
                client_id=f"{versions[v][0]}-{size}x{concurrency}-{i}-{j}",
                sender_id=PATIENTS[ROOMS[(i * size + j) % len(ROOMS)]],
                sender_role="patient",
                sender_name="P",
                body="x" * 100,
            )
            for j in range(size)
        ]
        start = time.perf_counter()
        await stores[v].append_batch(batch)
        latencies[v].append(time.perf_counter() - start)

    for k in range(0, BATCHES, concurrency):
        for v in range(len(versions)):
            began = time.perf_counter()
            await asyncio.gather(*(one(v, k + c) for c in range(concurrency)))
            elapsed[v] += time.perf_counter() - began
    results = []
    for v, (label, _) in enumerate(versions):
        await stores[v].close()
        latencies[v].sort()
        p50, p99 = latencies[v][len(latencies[v]) // 2] * 1e3, latencies[v][int(len(latencies[v]) * 0.99)] * 1e3
        results.append((label, p50, p99, BATCHES * size / elapsed[v]))
    return results


async def commit_floor(url: str) -> dict[str, float]:
    """The durable-commit floor of the restated target (docs/benchmarks.md): the current store's
    one-message batch, one in flight, on real consultations: p50 and p99 in ms."""
    import careconnect.domain.consultations.chat_store as current

    await make_rooms(url)
    [(_, p50, p99, rate)] = await measure([("current", current)], url, 1, 1)
    return {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "msgs_per_s": round(rate), "batches": BATCHES}


ROOMS: list[str] = []
PATIENTS: dict[str, str] = {}


async def make_rooms(url: str) -> None:
    """200 consultations (a patient, a doctor, an appointment) and their chat rooms, as a running
    clinic has them: every message is then an audit record, and no batch makes a room."""
    now = dt.datetime.now(dt.UTC)
    doctor = uuid.uuid4()
    users = [(doctor, "doctor")]
    appointments = []
    for i in range(200):
        patient, appointment = uuid.uuid4(), uuid.uuid4()
        users.append((patient, "patient"))
        appointments.append((appointment, patient, now + dt.timedelta(minutes=10 * i)))
        ROOMS.append(f"consultation:{appointment}")
        PATIENTS[ROOMS[-1]] = str(patient)
    statements = [
        (
            "INSERT INTO cc_user (id, email, password_hash, full_name, role, timezone, created_at) "
            "VALUES (?1, ?2, '', 'U', ?3, 'UTC', ?4)",
            [(user, f"{user}@bench.test", role, now) for user, role in users],
        ),
        (
            "INSERT INTO cc_appointment (id, patient, doctor, starts_at, ends_at, status, reason, created_at) "
            "VALUES (?1, ?2, ?3, ?4, ?4, 'in_progress', '', ?4)",
            [(a, p, doctor, at) for a, p, at in appointments],
        ),
        ("INSERT INTO chat_room (name, last_seq, created_at) VALUES (?1, 0, ?2)", [(r, now) for r in ROOMS]),
    ]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for sql, rows in statements:
                db.executemany(sql, [tuple(str(v) for v in row) for row in rows])
        return
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        for sql, rows in statements:
            await connection.executemany(sql.replace("?", "$"), rows)
    finally:
        await connection.close()


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
    import careconnect.domain.consultations.chat_store as current

    if not args.url.startswith("sqlite"):
        await floor(args.url)
    await make_rooms(args.url)
    versions = [("current", current)]
    if args.compare:
        versions.insert(0, ("compare", load(args.compare, "chat_store_compare")))
    for size, concurrency in SHAPES:
        for label, p50, p99, rate in await measure(versions, args.url, size, concurrency):
            print(
                f"{label:8} {size:3} msg/batch, {concurrency} in flight: "
                f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  {rate:,.0f} msg/s",
                flush=True,
            )


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
