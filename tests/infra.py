"""Finding the real services tests need: skip when absent, but fail when CI=true."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need(service: str, available: bool, how: str) -> None:
    """Skip with a reason, or fail under CI=true, where every service must be present."""
    if available:
        return
    message = f"{service} is not available ({how})"
    if IN_CI:
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def need_postgres() -> None:
    need("PostgreSQL", _reachable("127.0.0.1", 5432), "start it: pg_ctlcluster <version> main start")


def need_redis() -> None:
    parsed = urlparse(REDIS_URL)
    where = (parsed.hostname or "127.0.0.1", parsed.port or 6379)
    need("Redis", _reachable(*where), f"start it: redis-server --daemonize yes --port {where[1]}")


def need_chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else (shutil.which("chromium") or "")
    need("Chromium", bool(path), "apt-get install -y chromium")
    return path


def migrate(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "CARECONNECT_ENV": "test", "SECRET_KEY": "t" * 40}
    result = subprocess.run(
        [sys.executable, "-m", "careconnect", "migrate"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migration failed:\n{result.stdout}\n{result.stderr}")


@contextmanager
def migrated_postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the block (skips, or fails under CI, without one)."""
    need_postgres()
    url, name = create_postgres_database()
    try:
        migrate(url)
        yield url
    finally:
        drop_postgres_database(name)


def create_postgres_database() -> tuple[str, str]:
    """A fresh database for this test run; returns (url, name)."""
    name = f"cc_test_{uuid.uuid4().hex[:10]}"
    _psql(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def drop_postgres_database(name: str) -> None:
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _psql(sql: str) -> None:
    import asyncio
    import concurrent.futures

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # In a thread of its own, so async tests can call it too.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(60)
