"""The hub's ``MessageStore`` on the chat tables, in raw SQL for speed.

PostgreSQL (asyncpg pool) or SQLite (one connection in a thread of its own, WAL). A batch is one
transaction: the room rows are locked in name order, ``chat_room.last_seq`` is bumped by the
number of new messages and the messages are inserted with the seqs that came back, so seqs
are gapless and assigned by the database. A resend is found by (sender, room, client id) and
answered with the stored original; the unique indexes make a double insert impossible even
when two workers race (the batch is then retried and finds the winner's row).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from careconnect.db import PoolMode, asyncpg_options, create_private_file
from careconnect.hub.store import Appended, NewMessage, StoredMessage, UnstorableMessage, stored_as
from careconnect.instants import stored_instant

T = TypeVar("T")
SEQ_MAX = 2**31 - 1  # the seq columns are INTEGER: a larger number in a query fails on PostgreSQL
COLUMNS = "room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stored(row: Any) -> StoredMessage:
    return StoredMessage(
        room=row[0],
        seq=int(row[1]),
        client_id=row[2],
        sender_id=row[3],
        sender_role=row[4],
        sender_name=row[5],
        body=row[6],
        created_at=stored_instant(row[7]),
        kind=row[8] if len(row) > 8 else "text",
    )


def _fields(m: NewMessage) -> tuple[str, str, str, str, str, str]:
    """A message's columns in the order the one-message statements take them ($1..$6)."""
    return m.room, m.client_id, m.sender_id, m.sender_role, m.sender_name, m.body


def _address(m: NewMessage, audit: bool) -> str | None:
    """The address a message row carries: the sender's, making the row its own audit record, or
    NULL for a store without the audit. The column holds 64 characters."""
    return m.sender_address[:64] if audit else None


def _first_of_each(batch: list[NewMessage]) -> list[NewMessage]:
    """The batch without repeats of a (sender, room, client id) (a resend queued twice)."""
    seen: set[tuple[str, str, str]] = set()
    fresh = []
    for m in batch:
        key = (m.sender_id, m.room, m.client_id)
        if key not in seen:
            seen.add(key)
            fresh.append(m)
    return fresh


def _results(
    batch: list[NewMessage],
    created: dict[tuple[str, str, str], StoredMessage],
    existing: dict[tuple[str, str, str], StoredMessage],
) -> list[Appended]:
    """One result per batch entry, in order: ``created`` only for the first of a new message."""
    results = []
    announced: set[tuple[str, str, str]] = set()
    for m in batch:
        key = (m.sender_id, m.room, m.client_id)
        if key in created and key not in announced:
            announced.add(key)
            results.append(Appended(created[key], True))
        else:
            results.append(Appended(created.get(key) or existing[key], False))
    return results


# A whole batch in one statement, so one round trip and an implicit transaction: resends are
# found (``existing``), the rest deduplicated within the batch (first of each key), each room's
# row upserted in name order (locks taken in one order: two workers cannot deadlock) to reserve
# its seqs, and the messages inserted with them. Each message row is its own ``messages.write``
# audit record when it carries the sender's address (``domain/audit/messages.py``); a store
# without the audit passes NULL addresses.
_BATCH_INPUT = """
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $8::text[], $9::text[])
        WITH ORDINALITY AS i(room, client_id, sender_id, sender_role, sender_name, body, sender_address, kind, ord)"""
# One message (the usual batch at low load): scalar parameters, so PostgreSQL settles on a
# generic plan after five executions instead of planning every call as it does for arrays
# (planning was about two thirds of the statement's time).
_ONE_INPUT = """
    SELECT $1::text AS room, $2::text AS client_id, $3::text AS sender_id, $4::text AS sender_role,
        $5::text AS sender_name, $6::text AS body, $8::text AS sender_address, $9::text AS kind, 1::bigint AS ord"""
_APPEND_PG = """
WITH input AS ({input}
), firsts AS (
    SELECT DISTINCT ON (sender_id, room, client_id) * FROM input ORDER BY sender_id, room, client_id, ord
), existing AS (
    SELECT m.room, m.seq, m.client_id, m.sender_id, m.sender_role, m.sender_name, m.body, m.created_at, m.kind
    FROM chat_message m JOIN firsts f
        ON m.sender_id = f.sender_id AND m.room = f.room AND m.client_id = f.client_id
), fresh AS (
    SELECT f.* FROM firsts f WHERE NOT EXISTS (
        SELECT 1 FROM existing e
        WHERE e.sender_id = f.sender_id AND e.room = f.room AND e.client_id = f.client_id)
), counts AS (
    SELECT room, count(*)::int AS n FROM fresh GROUP BY room
), bumped AS (
    INSERT INTO chat_room AS r (name, last_seq, created_at)
    SELECT room, n, $7 FROM counts ORDER BY room
    ON CONFLICT (name) DO UPDATE SET last_seq = r.last_seq + EXCLUDED.last_seq
    RETURNING r.name, r.last_seq
), inserted AS (
    INSERT INTO chat_message
        (room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind, sender_address)
    SELECT f.room, b.last_seq - c.n + row_number() OVER (PARTITION BY f.room ORDER BY f.ord),
        f.client_id, f.sender_id, f.sender_role, f.sender_name, f.body, $7, f.kind, f.sender_address
    FROM fresh f JOIN counts c ON c.room = f.room JOIN bumped b ON b.name = f.room
    RETURNING room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind
)
SELECT true, room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind FROM inserted
UNION ALL
SELECT false, room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind FROM existing
"""
# One new message in a room that exists, the usual case by far: no upsert, no deduplication, no
# window: the room's row bumped unless the message is a resend, and the message inserted. A
# resend or a missing room returns no row (and a resend racing its twin breaks the unique
# index); either way the statement has changed nothing and the general statement above answers
# instead. Only the seq comes back (the rest is the caller's).
APPEND_NEW_ONE_PG = """
WITH bumped AS (
    UPDATE chat_room SET last_seq = last_seq + 1 WHERE name = $1 AND NOT EXISTS (
        SELECT 1 FROM chat_message WHERE sender_id = $3 AND room = $1 AND client_id = $2)
    RETURNING last_seq
)
INSERT INTO chat_message
    (room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind, sender_address)
SELECT $1, last_seq, $2, $3, $4, $5, $6, $7, $8::text, $9::text FROM bumped
RETURNING seq
"""
APPEND_PG = _APPEND_PG.format(input=_BATCH_INPUT)
APPEND_ONE_PG = _APPEND_PG.format(input=_ONE_INPUT)


def _between(mark: Callable[[int], str], *, bounded: bool, newest: bool) -> str:
    """``read_between``'s statement; its parameters: room, after_seq, [before_seq,] limit."""
    where = f"room = {mark(1)} AND seq > {mark(2)}" + (f" AND seq < {mark(3)}" if bounded else "")
    order = "seq DESC" if newest else "seq"
    return f"SELECT {COLUMNS} FROM chat_message WHERE {where} ORDER BY {order} LIMIT {mark(4 if bounded else 3)}"


# Keyed by (bounded above, newest first).
_BETWEEN_PG = {(b, n): _between(lambda i: f"${i}", bounded=b, newest=n) for b in (False, True) for n in (False, True)}
_BETWEEN_SQLITE = {(b, n): _between(lambda i: "?", bounded=b, newest=n) for b in (False, True) for n in (False, True)}


def sql_message_store(
    database_url: str, *, audit: bool = False, pool_mode: PoolMode = "session", pool_size: int = 6
) -> PostgresMessageStore | SqliteMessageStore:
    """The store for a ``DATABASE_URL``: ``postgresql://…`` or ``sqlite:///path/to/file.db``.

    ``audit``: store each message as its own ``messages.write`` audit record, with the sender's
    address (the application's hub does; the seed and the store's own tests do not).
    ``pool_mode``: ``DATABASE_POOL_MODE`` (``transaction`` behind PgBouncer in transaction mode).
    ``pool_size``: the most PostgreSQL connections the store opens (its share of
    ``DATABASE_POOL_SIZE``, ``careconnect.db.split_pool``).
    """
    if database_url.startswith(("postgres://", "postgresql://")):
        return PostgresMessageStore(database_url, pool_size, audit=audit, options=asyncpg_options(pool_mode))
    if database_url.startswith("sqlite://"):
        return SqliteMessageStore(database_url, audit=audit)
    raise ValueError("DATABASE_URL is not a postgresql:// or sqlite:/// URL")


async def _no_reset(connection: Any) -> None:
    return None


class PostgresMessageStore:
    # Connections kept out of the pool for writes: the hub's writer commits at most two batches
    # at once (GroupCommitWriter.max_in_flight), and a kept connection spares each batch the
    # pool's acquire and release (about a sixth of a one-message batch's time here).
    WRITERS = 2

    def __init__(
        self, dsn: str, pool_size: int = 6, *, audit: bool = False, options: dict[str, Any] | None = None
    ) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.audit = audit
        self.options = options or {}  # asyncpg's connection options (careconnect.db.asyncpg_options)
        self.pool: Any = None
        self._writers: list[Any] = []

    async def start(self) -> None:
        import asyncpg

        # No reset on release: the store never changes session state (no SET, LISTEN, advisory
        # locks or cursors; transactions end inside their block), and the default reset costs a
        # round trip per batch (docs/benchmarks.md, the clinic profile).
        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.pool_size, reset=_no_reset, **self.options
        )

    async def close(self) -> None:
        if self.pool is not None:
            while self._writers:
                await self.pool.release(self._writers.pop())
            await self.pool.close()

    async def _write(self, sql: str, *args: Any) -> Any:
        """``sql``'s rows, run on a kept write connection (taken from the pool when none is free).
        A connection whose statement failed goes back to the pool, which replaces it if broken."""
        connection = self._writers.pop() if self._writers else await self.pool.acquire()
        try:
            rows = await connection.fetch(sql, *args)
        except BaseException:
            await self.pool.release(connection)
            raise
        if len(self._writers) < self.WRITERS:
            self._writers.append(connection)
        else:
            await self.pool.release(connection)
        return rows

    async def append_batch(self, batch: list[NewMessage]) -> list[Appended]:
        import asyncpg

        for attempt in range(5):
            try:
                return await self._append(batch)
            except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
                if attempt == 4:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
            except (asyncpg.DataError, UnicodeEncodeError) as exc:  # e.g. a NUL: the writer splits the batch
                raise UnstorableMessage(
                    f"the batch holds a value PostgreSQL cannot store: {type(exc).__name__}"
                ) from exc
        raise AssertionError("unreachable")

    async def _append(self, batch: list[NewMessage]) -> list[Appended]:
        if len(batch) == 1:
            [m] = batch
            if (fresh := await self._append_new_one(m)) is not None:
                return [fresh]
            rows = await self._write(APPEND_ONE_PG, *_fields(m), _now(), _address(m, self.audit), m.kind)
        else:
            rows = await self._write(
                APPEND_PG,
                [m.room for m in batch],
                [m.client_id for m in batch],
                [m.sender_id for m in batch],
                [m.sender_role for m in batch],
                [m.sender_name for m in batch],
                [m.body for m in batch],
                _now(),
                [_address(m, self.audit) for m in batch],
                [m.kind for m in batch],
            )
        created: dict[tuple[str, str, str], StoredMessage] = {}
        existing: dict[tuple[str, str, str], StoredMessage] = {}
        for row in rows:
            stored = _stored(row[1:])
            (created if row[0] else existing)[(stored.sender_id, stored.room, stored.client_id)] = stored
        return _results(batch, created, existing)

    async def _append_new_one(self, m: NewMessage) -> Appended | None:
        """``m`` stored as a new message in its existing room, or None (a resend, or no room yet)."""
        import asyncpg

        now = _now()
        try:
            rows = await self._write(APPEND_NEW_ONE_PG, *_fields(m), now, m.kind, _address(m, self.audit))
        except asyncpg.UniqueViolationError:
            return None
        return Appended(stored_as(m, rows[0][0], now), True) if rows else None

    async def read_after(self, room: str, after_seq: int, limit: int) -> list[StoredMessage]:
        if after_seq >= SEQ_MAX:  # no seq is larger (and a larger parameter fails the INTEGER comparison)
            return []
        rows = await self.pool.fetch(
            f"SELECT {COLUMNS} FROM chat_message WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            room,
            after_seq,
            limit,
        )
        return [_stored(r) for r in rows]

    async def read_last(self, room: str, limit: int) -> list[StoredMessage]:
        rows = await self.pool.fetch(
            f"SELECT {COLUMNS} FROM chat_message WHERE room = $1 ORDER BY seq DESC LIMIT $2", room, limit
        )
        return [_stored(r) for r in reversed(rows)]

    async def read_between(
        self, room: str, after_seq: int, before_seq: int | None, limit: int, *, newest: bool = False
    ) -> list[StoredMessage]:
        if after_seq >= SEQ_MAX or limit <= 0:  # no seq is larger (and a larger parameter fails)
            return []
        if before_seq is not None and before_seq > SEQ_MAX:  # every seq is below it
            before_seq = None
        bounds = (room, after_seq) if before_seq is None else (room, after_seq, before_seq)
        rows = await self.pool.fetch(_BETWEEN_PG[before_seq is not None, newest], *bounds, limit)
        return [_stored(r) for r in (reversed(rows) if newest else rows)]

    async def last_seq(self, room: str) -> int:
        value = await self.pool.fetchval("SELECT last_seq FROM chat_room WHERE name = $1", room)
        return int(value or 0)

    async def find(self, sender_id: str, room: str, client_id: str) -> StoredMessage | None:
        row = await self.pool.fetchrow(
            f"SELECT {COLUMNS} FROM chat_message WHERE sender_id = $1 AND room = $2 AND client_id = $3",
            sender_id,
            room,
            client_id,
        )
        return _stored(row) if row is not None else None


class SqliteMessageStore:
    """One connection, owned by one thread; every operation is one hop to that thread.

    A batch runs start to commit inside the thread (``sqlite3``), so it costs one hand-off
    however many statements it takes (it was one per statement through aiosqlite: 0.70 ms per
    one-message batch, 2.9 ms for ten rooms). SQLite serialises writers, and so does the thread.
    """

    def __init__(self, path: str, *, audit: bool = False) -> None:
        """``path`` is a file path or a ``sqlite:///path/to/file.db`` URL."""
        self.path = path.removeprefix("sqlite:///") if path.startswith("sqlite:///") else path
        self.audit = audit
        self.db: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def start(self) -> None:
        create_private_file(Path(self.path))  # 0600, and so its -wal and -shm
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-message-store")
        self.db = await self._call(self._connect)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=FULL")
        return db

    async def close(self) -> None:
        if self.db is not None:
            await self._call(self.db.close)
            self.db = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    async def append_batch(self, batch: list[NewMessage]) -> list[Appended]:
        try:
            return await self._call(self._append, batch)
        except (sqlite3.DataError, UnicodeEncodeError) as exc:  # e.g. a lone surrogate: the writer splits the batch
            raise UnstorableMessage(f"the batch holds a value SQLite cannot store: {type(exc).__name__}") from exc

    def _append(self, batch: list[NewMessage]) -> list[Appended]:
        now = _now()
        stamp = str(now)  # the format Piccolo uses for timestamptz on SQLite
        db = self.db
        assert db is not None
        db.execute("BEGIN IMMEDIATE")
        try:
            keys = list(dict.fromkeys((m.sender_id, m.room, m.client_id) for m in batch))
            existing: dict[tuple[str, str, str], StoredMessage] = {}
            for start in range(0, len(keys), 300):  # SQLite caps bound parameters per statement
                chunk = keys[start : start + 300]
                rows = db.execute(
                    f"SELECT {COLUMNS} FROM chat_message WHERE (sender_id, room, client_id) IN "
                    f"(VALUES {', '.join(['(?, ?, ?)'] * len(chunk))})",
                    [value for key in chunk for value in key],
                ).fetchall()
                for row in rows:
                    stored = _stored(row)
                    existing[(stored.sender_id, stored.room, stored.client_id)] = stored
            fresh = [m for m in _first_of_each(batch) if (m.sender_id, m.room, m.client_id) not in existing]
            counts: dict[str, int] = {}
            for m in fresh:
                counts[m.room] = counts.get(m.room, 0) + 1
            next_seq: dict[str, int] = {}
            for name, n in counts.items():
                db.execute(
                    "INSERT INTO chat_room (name, last_seq, created_at) VALUES (?, 0, ?) ON CONFLICT(name) DO NOTHING",
                    (name, stamp),
                )
                row = db.execute(
                    "UPDATE chat_room SET last_seq = last_seq + ? WHERE name = ? RETURNING last_seq", (n, name)
                ).fetchone()
                next_seq[name] = int(row[0]) - n + 1
            created = {}
            rows = []
            for m in fresh:
                seq = next_seq[m.room]
                next_seq[m.room] = seq + 1
                created[(m.sender_id, m.room, m.client_id)] = stored_as(m, seq, now)
                rows.append(
                    (
                        m.room,
                        seq,
                        m.client_id,
                        m.sender_id,
                        m.sender_role,
                        m.sender_name,
                        m.body,
                        stamp,
                        m.kind,
                        _address(m, self.audit),
                    )
                )
            if rows:
                db.executemany(
                    f"INSERT INTO chat_message ({COLUMNS}, sender_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return _results(batch, created, existing)

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        assert self.db is not None
        return self.db.execute(sql, params).fetchall()

    async def read_after(self, room: str, after_seq: int, limit: int) -> list[StoredMessage]:
        rows = await self._call(
            self._rows,
            f"SELECT {COLUMNS} FROM chat_message WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?",
            (room, after_seq, limit),
        )
        return [_stored(r) for r in rows]

    async def read_last(self, room: str, limit: int) -> list[StoredMessage]:
        rows = await self._call(
            self._rows, f"SELECT {COLUMNS} FROM chat_message WHERE room = ? ORDER BY seq DESC LIMIT ?", (room, limit)
        )
        return [_stored(r) for r in reversed(rows)]

    async def read_between(
        self, room: str, after_seq: int, before_seq: int | None, limit: int, *, newest: bool = False
    ) -> list[StoredMessage]:
        if limit <= 0:
            return []
        bounds = (room, after_seq) if before_seq is None else (room, after_seq, before_seq)
        rows = await self._call(self._rows, _BETWEEN_SQLITE[before_seq is not None, newest], (*bounds, limit))
        return [_stored(r) for r in (reversed(rows) if newest else rows)]

    async def last_seq(self, room: str) -> int:
        rows = await self._call(self._rows, "SELECT last_seq FROM chat_room WHERE name = ?", (room,))
        return int(rows[0][0]) if rows else 0

    async def find(self, sender_id: str, room: str, client_id: str) -> StoredMessage | None:
        rows = await self._call(
            self._rows,
            f"SELECT {COLUMNS} FROM chat_message WHERE sender_id = ? AND room = ? AND client_id = ?",
            (sender_id, room, client_id),
        )
        return _stored(rows[0]) if rows else None
