"""The Piccolo engine for a DATABASE_URL (with its read replica, DATABASE_REPLICA_URL), and
binding every table to it."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import asyncpg
from piccolo.engine.base import BaseTransaction, Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from careconnect.db_errors import is_unavailable
from careconnect.tables import ALL_TABLES

if TYPE_CHECKING:
    from piccolo.query.base import Query
    from piccolo.query.proxy import Proxy

PoolMode = Literal["session", "transaction"]
REPLICA = "replica"
"""The read replica's name among the primary engine's ``extra_nodes`` (Piccolo's ``run(node=...)``)."""
REPLICA_CONNECT_TIMEOUT_S = 3.0
"""How long a connection to the replica may take before the read goes to the primary instead."""
REPLICA_COMMAND_TIMEOUT_S = 5.0
"""How long one read on the replica may take (a replica that accepts connections but hangs, or
holds a lock) before it counts as failed and the read goes to the primary."""
REPLICA_REST_S = 5.0
"""After a failed replica read, how long reads go straight to the primary before the replica is tried again."""

log = logging.getLogger("careconnect.db")


def asyncpg_options(pool_mode: PoolMode) -> dict[str, Any]:
    """asyncpg's connection options for ``DATABASE_POOL_MODE``: behind a pooler in transaction
    mode (PgBouncer before 1.21, or without ``max_prepared_statements``) a named prepared
    statement may meet another server connection next time, so asyncpg keeps none (it still
    prepares each query unnamed, within its own transaction)."""
    return {"statement_cache_size": 0} if pool_mode == "transaction" else {}


def engine_from_url(url: str, *, pool_mode: PoolMode = "session", replica_url: str | None = None) -> Engine[Any]:
    """The engine for ``url``; ``pool_mode`` is ``DATABASE_POOL_MODE`` (PostgreSQL only) and
    applies to the replica too; ``replica_url`` (``DATABASE_REPLICA_URL``) becomes its extra node."""
    if url.startswith(("postgres://", "postgresql://")):
        nodes = {REPLICA: ReplicaNode(replica_url, pool_mode)} if replica_url else None
        return PostgresEngine(config={"dsn": url, **asyncpg_options(pool_mode)}, extra_nodes=nodes)
    if replica_url:
        raise ValueError("a read replica needs a PostgreSQL DATABASE_URL")
    path = Path(url.removeprefix("sqlite:///"))
    create_private_file(path)
    # A generous timeout: concurrent writers wait for the lock instead of failing.
    return SQLiteEngine(path=str(path), timeout=30)


def write_transaction() -> BaseTransaction:
    """One writer at a time on SQLite (BEGIN IMMEDIATE, so a read-then-write cannot interleave
    with another writer's); a plain transaction on PostgreSQL, whose constraints and row locks
    do that work. Every table is bound to the same engine (``bind_tables``)."""
    engine = ALL_TABLES[0]._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    transaction: BaseTransaction = engine.transaction()  # PostgresEngine's, typed Any through Table._meta.db
    return transaction


def create_private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable by its owner only (0600), before anything is written.

    For a SQLite database: SQLite creates the -wal and -shm files with the database file's
    permissions, so they are 0600 too. An existing file keeps its content and becomes 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


def bind_tables(engine: Engine[Any]) -> None:
    """Point every table at ``engine`` (Piccolo tables otherwise find piccolo_conf.DB)."""
    for table in ALL_TABLES:
        table._meta.db = engine
    from piccolo.apps.migrations.tables import Migration

    Migration._meta.db = engine


def is_postgres(engine: Engine[Any]) -> bool:
    return isinstance(engine, PostgresEngine)


def split_pool(size: int) -> tuple[int, int]:
    """``DATABASE_POOL_SIZE`` (the most PostgreSQL connections one worker opens, its replica pool
    aside) shared between the ORM's pool and the message store's.

    The store takes a quarter, between 3 (its two kept writer connections and one for history
    reads) and 6 (what two writers and a few history pages at once can use); the ORM takes the
    rest. The default 26 is 20 and 6, what every worker opened before the setting existed.
    """
    store = min(6, max(3, size // 4))
    return size - store, store


async def open_engine(engine: Engine[Any], *, pool_min: int = 2, pool_max: int = 20) -> None:
    """Ready ``engine`` to serve: PostgreSQL's connection pool (and the replica's own, which
    connects on first use, so a replica that is down does not stop the server starting),
    SQLite's write-ahead journal (readers no longer wait for a writer)."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=pool_min, max_size=pool_max)
        if (replica := replica_of(engine)) is not None:
            await replica.start_connection_pool(min_size=0, max_size=pool_max)
    else:
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_engine(engine: Engine[Any]) -> None:
    """Close what ``open_engine`` opened (PostgreSQL's pools; SQLite keeps no connection)."""
    if isinstance(engine, PostgresEngine):
        if (replica := replica_of(engine)) is not None and replica.pool is not None:
            await replica.close_connection_pool()
        await engine.close_connection_pool()


class ReplicaNode(PostgresEngine):
    """The read replica (``DATABASE_REPLICA_URL``) as the primary engine's extra node: its own
    pool, the same ``DATABASE_POOL_MODE`` options, a short connect timeout, and a rest after a
    failure during which ``from_replica`` sends reads to the primary."""

    def __init__(self, url: str, pool_mode: PoolMode) -> None:
        super().__init__(
            config={
                "dsn": url,
                "timeout": REPLICA_CONNECT_TIMEOUT_S,
                "command_timeout": REPLICA_COMMAND_TIMEOUT_S,
                **asyncpg_options(pool_mode),
            }
        )
        self.resting_until = 0.0
        self.failing = False
        # /metrics (careconnect.metrics.DatabaseMetrics): reads the replica answered, and reads
        # meant for it that the primary answered (it failed, or was resting after a failure)
        self.reads = 0
        self.handed_to_primary = 0

    async def check_version(self) -> None:
        """Nothing: Piccolo connects at construction to check the version, but the replica runs
        the primary's version and may be down when the server starts (its reads then go to the
        primary until it answers)."""

    def usable(self) -> bool:
        return time.monotonic() >= self.resting_until

    def failed(self, exc: BaseException) -> None:
        self.resting_until = time.monotonic() + REPLICA_REST_S
        if not self.failing:  # one line per outage, not one per read
            log.warning(
                "read replica failed (%s: %s); its reads go to the primary, retrying in %.0f s",
                type(exc).__name__,
                str(exc)[:200],
                REPLICA_REST_S,
            )
        self.failing = True

    def answered(self) -> None:
        if self.failing:
            log.info("read replica answers again; lag-tolerant reads are back on it")
        self.failing = False


def replica_of(engine: Engine[Any]) -> ReplicaNode | None:
    """The engine's read replica, when ``DATABASE_REPLICA_URL`` gave it one."""
    node = engine.extra_nodes.get(REPLICA) if isinstance(engine, PostgresEngine) else None
    return node if isinstance(node, ReplicaNode) else None


def _replica_failure(exc: BaseException) -> bool:
    """Anything the replica's server or connection raised (down, starting, a recovery conflict),
    or a read that took longer than ``REPLICA_COMMAND_TIMEOUT_S``."""
    return isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)) or is_unavailable(exc)


async def from_replica(query: Query[Any, Any] | Proxy[Any, Any], *, stale_ok: bool = True) -> Any:
    """Run a read on the read replica (``DATABASE_REPLICA_URL``), else on the primary.

    The rule for what may be read here: only what a reader can bear seeing a moment old, and
    never what decides anything.

    - **Replica**: the doctor directory (search, specialties, a doctor's card as others see
      it, the free slots others see) and, in a doctor's patient-history panel, the records of
      other doctors' visits the patient shares, read after the access decision.
    - **Primary, always**: every authorisation read (sessions, refresh tokens, users and
      roles, vetting, ``is_treating``, ``share_history``, ownership of an appointment), the
      state a decision or a write is made on (booking's slot check, status moves, versions
      for ``If-Match``), everything inside a transaction, the hub's message store, and what the
      caller writes themselves (read-your-writes: their own appointments, notes and summaries,
      their own card, hours and slots, the intake).

    A replica read that fails (replica down, starting, cancelled by a recovery conflict, or
    slower than ``REPLICA_COMMAND_TIMEOUT_S``) is
    answered by the primary, and the replica rests ``REPLICA_REST_S`` before it is tried again:
    the primary can always answer these reads, only fresher, and its pool caps what it takes on.
    With ``stale_ok=False`` (a shared read called from a path that must not lag), without a
    replica, or on SQLite, the query runs on the primary.
    """
    engine = query.table._meta.db
    replica = replica_of(engine)
    if not stale_ok or replica is None or engine.current_transaction.get() is not None:
        return await query.run()
    if not replica.usable():
        replica.handed_to_primary += 1
        return await query.run()
    try:
        result = await query.run(node=REPLICA)
    except Exception as exc:
        if not _replica_failure(exc):
            raise
        replica.failed(exc)
        replica.handed_to_primary += 1
        return await query.run()
    replica.answered()
    replica.reads += 1
    return result
