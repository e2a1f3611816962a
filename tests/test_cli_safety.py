"""Issue 15, item 9: the commands and files an operator touches: `seed` refuses production,
`create-admin` keeps the password off the command line, the database and the dev secret are 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from careconnect.domain.consultations.chat_store import SqliteMessageStore
from careconnect.hub.store import NewMessage
from tests.infra import REPO_ROOT, migrate

STRONG = "3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e"


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "careconnect", *args],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **_python_path(), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: getpass reads stdin
    )


def _python_path() -> dict[str, str]:
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "cc.db"
    url = f"sqlite:///{path}"
    migrate(url)
    return url, path


def _admins(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [r[0] for r in connection.execute("SELECT email FROM cc_user WHERE role = 'admin' ORDER BY email")]


def test_seed_refuses_to_run_in_production(db):
    url, path = db
    result = _run(["seed"], {"DATABASE_URL": url, "CARECONNECT_ENV": "production", "SECRET_KEY": STRONG})
    assert result.returncode == 2, result.stderr
    assert "production" in result.stderr and "Traceback" not in result.stderr
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM cc_user").fetchone()[0] == 0


def test_create_admin_takes_the_password_from_the_environment_or_asks_twice(db):
    url, path = db
    env = {"DATABASE_URL": url, "SECRET_KEY": STRONG}
    from_env = _run(
        ["create-admin", "--email", "env@example.com"], {**env, "CARECONNECT_ADMIN_PASSWORD": "a-long-password-1"}
    )
    assert from_env.returncode == 0, from_env.stderr
    asked = _run(["create-admin", "--email", "asked@example.com"], env, stdin="a-long-password-2\na-long-password-2\n")
    assert asked.returncode == 0, asked.stderr
    assert "a-long-password-2" not in asked.stdout + asked.stderr
    differ = _run(["create-admin", "--email", "differ@example.com"], env, stdin="a-long-password-3\nanother-one-333\n")
    assert differ.returncode == 2 and "differ" in differ.stderr
    on_the_line = _run(["create-admin", "--email", "flag@example.com", "--password", "a-long-password-4"], env)
    assert on_the_line.returncode == 0, on_the_line.stderr
    assert "visible to other users" in on_the_line.stderr  # still works, with a warning
    assert _admins(path) == ["asked@example.com", "env@example.com", "flag@example.com"]
    # Each admin signs in with the password it was given.
    from argon2 import PasswordHasher

    with sqlite3.connect(path) as connection:
        stored = dict(connection.execute("SELECT email, password_hash FROM cc_user"))
    assert PasswordHasher().verify(stored["asked@example.com"], "a-long-password-2")
    assert PasswordHasher().verify(stored["env@example.com"], "a-long-password-1")


async def test_the_sqlite_files_are_created_readable_by_their_owner_only(tmp_path: Path):
    previous = os.umask(0)  # the most permissive umask: the modes must not depend on it
    try:
        path = tmp_path / "private" / "cc.db"
        url = f"sqlite:///{path}"
        await __import__("asyncio").to_thread(migrate, url)
        assert _mode(path) == 0o600
        store = SqliteMessageStore(url)
        await store.start()
        try:
            await store.append_batch([NewMessage("consultation:x", "c1", "u1", "patient", "P", "hello")])
            for suffix in ("-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                assert side.exists() and _mode(side) == 0o600, suffix
        finally:
            await store.close()
    finally:
        os.umask(previous)


def test_the_development_secret_key_file_is_0600_from_the_start(tmp_path: Path, monkeypatch):
    from careconnect import settings as settings_module

    monkeypatch.setattr(settings_module, "VAR_DIR", tmp_path / "var")
    # 0600 from the moment the file exists, not by a chmod after the key was written.
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    previous = os.umask(0)
    try:
        loaded = settings_module.load_settings({})
    finally:
        os.umask(previous)
    key_file = tmp_path / "var" / "secret_key"
    assert _mode(key_file) == 0o600 and key_file.read_text() == loaded.secret_key
    assert settings_module.load_settings({}).secret_key == loaded.secret_key  # kept across restarts
