"""Logins opened before the session limits existed get them when the database is migrated
(issue 15): otherwise an old refresh token could be rotated forever."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra import REPO_ROOT, create_postgres_database, drop_postgres_database, migrate, need_postgres
from tests.test_chat_store_audit import run_sql

BEFORE_LIMITS = "2026-12-01T08:47:44:179003"  # session_limits: the columns, still empty


def _migrate_to(database_url: str, migration_id: str) -> None:
    code = (
        "import asyncio, sys; sys.path.insert(0, '.');"
        "from piccolo.apps.migrations.commands.forwards import run_forwards;"
        f"r = asyncio.run(run_forwards(app_name='careconnect', migration_id={migration_id!r}));"
        "sys.exit(0 if r.success else 1)"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "PICCOLO_CONF": "piccolo_conf"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(params=["sqlite", "postgres"])
def half_migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        _migrate_to(url, BEFORE_LIMITS)
        yield url
        return
    need_postgres()
    url, name = create_postgres_database()
    try:
        _migrate_to(url, BEFORE_LIMITS)
        yield url
    finally:
        drop_postgres_database(name)


async def test_open_logins_get_an_absolute_end_and_their_last_refresh(half_migrated):
    url = half_migrated
    started = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    refreshed = started + dt.timedelta(hours=3)
    sessions = {}
    for role in ("doctor", "patient"):
        user, session = uuid.uuid4(), uuid.uuid4()
        sessions[role] = session
        await run_sql(
            url,
            "INSERT INTO cc_user (id, email, password_hash, full_name, role, timezone, created_at) "
            "VALUES ($1, $2, '', 'U', $3, 'UTC', $4)",
            user,
            f"{user}@example.test",
            role,
            started,
        )
        await run_sql(
            url,
            'INSERT INTO cc_auth_session (id, "user", kind, created_at, user_agent, ip) '
            "VALUES ($1, $2, 'password', $3, '', '')",
            session,
            user,
            started,
        )
        for at in (started, refreshed):
            await run_sql(
                url,
                "INSERT INTO cc_refresh_token (id, session, token_hash, created_at, expires_at) "
                "VALUES ($1, $2, $3, $4, $4)",
                uuid.uuid4(),
                session,
                uuid.uuid4().hex,
                at,
            )
    migrate(url)  # the rest: session_limits_for_open_logins
    for role, hours in (("doctor", 12), ("patient", 720)):
        [(expires_at, last)] = await run_sql(
            url, "SELECT expires_at, last_refreshed_at FROM cc_auth_session WHERE id = $1", sessions[role]
        )
        expires_at = expires_at if isinstance(expires_at, dt.datetime) else dt.datetime.fromisoformat(expires_at)
        last = last if isinstance(last, dt.datetime) else dt.datetime.fromisoformat(last)
        assert expires_at == started + dt.timedelta(hours=hours), role
        assert last == refreshed, role
