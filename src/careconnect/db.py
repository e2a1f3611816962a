"""The Piccolo engine for a DATABASE_URL, and binding every table to it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from piccolo.engine.base import BaseTransaction, Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from careconnect.tables import ALL_TABLES

PoolMode = Literal["session", "transaction"]


def asyncpg_options(pool_mode: PoolMode) -> dict[str, Any]:
    """asyncpg's connection options for ``DATABASE_POOL_MODE``: behind a pooler in transaction
    mode (PgBouncer before 1.21, or without ``max_prepared_statements``) a named prepared
    statement may meet another server connection next time, so asyncpg keeps none (it still
    prepares each query unnamed, within its own transaction)."""
    return {"statement_cache_size": 0} if pool_mode == "transaction" else {}


def engine_from_url(url: str, *, pool_mode: PoolMode = "session") -> Engine[Any]:
    """The engine for ``url``; ``pool_mode`` is ``DATABASE_POOL_MODE`` (PostgreSQL only)."""
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": url, **asyncpg_options(pool_mode)})
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


async def open_engine(engine: Engine[Any], *, pool_min: int = 2, pool_max: int = 20) -> None:
    """Ready ``engine`` to serve: PostgreSQL's connection pool, SQLite's write-ahead journal
    (readers no longer wait for a writer)."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=pool_min, max_size=pool_max)
    else:
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_engine(engine: Engine[Any]) -> None:
    """Close what ``open_engine`` opened (PostgreSQL's pool; SQLite keeps no connection)."""
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
