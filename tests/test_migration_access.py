"""Issue 15, access: the migration that adds doctor vetting and history sharing keeps existing
accounts working: every doctor already there is approved, every patient shares nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.infra import REPO_ROOT, create_postgres_database, drop_postgres_database, migrate, need_postgres

BEFORE = "2026-11-25T06:35:21:520412"  # the last migration of 1.0
USER_ID, DOCTOR_ID = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
ROWS = (
    "INSERT INTO cc_user (id, email, password_hash, full_name, role, timezone, created_at) VALUES "
    f"('{USER_ID}', 'p@example.com', '', 'P', 'patient', 'UTC', '2026-01-01T00:00:00+00:00'), "
    f"('{DOCTOR_ID}', 'd@example.com', '', 'D', 'doctor', 'UTC', '2026-01-01T00:00:00+00:00')",
    f"INSERT INTO cc_doctor_profile (\"user\", specialty, bio, languages) VALUES ('{DOCTOR_ID}', 'GP', '', '[]')",
)
CHECK = (
    "SELECT verification FROM cc_doctor_profile",
    "SELECT share_history FROM cc_user ORDER BY role",
)


def migrate_until(url: str, migration_id: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "PICCOLO_CONF": "piccolo_conf", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "piccolo.main",
            "migrations",
            "forwards",
            "careconnect",
            f"--migration_id={migration_id}",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sqlite_rows_from_before_are_approved_and_not_shared(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate_until(url, BEFORE)
    with sqlite3.connect(tmp_path / "old.db") as db:
        for statement in ROWS:
            db.execute(statement)
    migrate(url)
    with sqlite3.connect(tmp_path / "old.db") as db:
        assert db.execute(CHECK[0]).fetchall() == [("approved",)]
        assert db.execute(CHECK[1]).fetchall() == [(0,), (0,)]


def test_postgres_rows_from_before_are_approved_and_not_shared() -> None:
    need_postgres()
    url, name = create_postgres_database()
    try:
        migrate_until(url, BEFORE)

        async def run(statements: tuple[str, ...]) -> list[list[tuple[object, ...]]]:
            conn = await asyncpg.connect(url)
            try:
                return [[tuple(r) for r in await conn.fetch(s)] for s in statements]
            finally:
                await conn.close()

        asyncio.run(run(ROWS))
        migrate(url)
        verification, shared = asyncio.run(run(CHECK))
        assert verification == [("approved",)]
        assert shared == [(False,), (False,)]
    finally:
        drop_postgres_database(name)
