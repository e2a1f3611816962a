"""The hub's own fixtures: Redis and PostgreSQL on loopback, and chat tables made with plain SQL.

A test that needs a service skips with the reason when it is absent, except under CI=true,
where a missing service fails the test. Self-contained on purpose: nothing from the
application (no migrations, no settings).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/4"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"

CHAT_TABLES = (
    """CREATE TABLE IF NOT EXISTS chat_room (
        name VARCHAR(200) PRIMARY KEY,
        last_seq INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ
    )""",
    """CREATE TABLE IF NOT EXISTS chat_message (
        id {serial} PRIMARY KEY,
        room VARCHAR(200) NOT NULL,
        seq INTEGER NOT NULL,
        client_id VARCHAR(64) NOT NULL,
        sender_id VARCHAR(64) NOT NULL,
        sender_role VARCHAR(16) NOT NULL,
        sender_name VARCHAR(200) NOT NULL,
        body TEXT NOT NULL,
        kind VARCHAR(16) NOT NULL DEFAULT 'text',
        created_at TIMESTAMPTZ,
        sender_address VARCHAR(64),
        UNIQUE (room, seq),
        UNIQUE (sender_id, room, client_id)
    )""",
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int, how: str) -> None:
    """Skip (or, with CI=true, fail) when a service is not listening."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port} ({how})"
    if IN_CI:
        pytest.fail(f"CI=true requires every service, but {message}", pytrace=False)
    pytest.skip(message)


def require_redis() -> None:
    require_service("Redis", "127.0.0.1", 6379, "start it with: redis-server --daemonize yes")


def require_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432, "start it with: pg_ctlcluster <version> main start")


@pytest.fixture
def redis_url() -> str:
    require_redis()
    return REDIS_URL


@pytest.fixture
def sqlite_chat_url(tmp_path: Path) -> str:
    """A fresh SQLite file with the chat tables (WAL is set by the store)."""
    import sqlite3

    path = tmp_path / "chat.db"
    with sqlite3.connect(path) as db:
        for ddl in CHAT_TABLES:
            db.execute(ddl.format(serial="INTEGER"))
    return f"sqlite:///{path}"


def _postgres(*statements: str) -> None:
    """Run statements on the test database from a thread of its own (works inside a running loop)."""
    import asyncio
    import concurrent.futures

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(60)


@pytest.fixture
def postgres_chat_url() -> Iterator[str]:
    """The chat tables in a schema of their own in database ``test``, dropped afterwards."""
    require_postgres()
    schema = f"hub_test_{uuid.uuid4().hex[:12]}"
    _postgres(
        f'CREATE SCHEMA "{schema}"',
        f'SET search_path TO "{schema}"; ' + "; ".join(ddl.format(serial="SERIAL") for ddl in CHAT_TABLES),
    )
    try:
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}search_path={schema}"
    finally:
        _postgres(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(store_kind: str, request: pytest.FixtureRequest) -> str:
    """The database URL for ``store_kind`` ("" for the in-memory store)."""
    if store_kind == "memory":
        return ""
    return str(request.getfixturevalue(f"{store_kind}_chat_url"))


@pytest.fixture
async def message_store(store_url: str) -> AsyncIterator[Any]:
    """A started ``MessageStore``: in memory, on SQLite, or on PostgreSQL."""
    from careconnect.domain.consultations.chat_store import sql_message_store
    from careconnect.hub import MemoryStore

    store: Any = sql_message_store(store_url) if store_url else MemoryStore()
    await store.start()
    try:
        yield store
    finally:
        await store.close()
