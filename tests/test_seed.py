"""`careconnect seed` leaves a living system: every appointment state, logins that work."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.infra import REPO_ROOT, migrate, migrated_postgres_database
from tests.live import LiveServer


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of its own: the seed must work on both engines' constraints."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'seed.db'}"
        migrate(url)
        yield url
        return
    with migrated_postgres_database() as url:
        yield url


def test_seed_fills_every_state_and_is_repeatable(tmp_path, fresh_database):
    url = fresh_database
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATABASE_URL": url,
        "SECRET_KEY": "live-test-secret-" + "z" * 32,
    }
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "careconnect", "seed", "--load", "2", "--out", str(tmp_path / "load.json")],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "patient1@example.com" in result.stdout
    rooms = json.loads((tmp_path / "load.json").read_text())["rooms"]
    assert len(rooms) == 2 and all(len(r["tokens"]) == 2 for r in rooms)
    server = LiveServer(url, log_path=tmp_path / "server.log").start()
    try:
        login = httpx.post(
            f"{server.url}/api/v1/auth/login", json={"email": "doctor1@example.com", "password": "careconnect-demo"}
        )
        assert login.status_code == 200
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        statuses = set()
        for scope in ("upcoming", "past"):
            items = httpx.get(f"{server.url}/api/v1/appointments", params={"scope": scope}, headers=headers).json()[
                "items"
            ]
            statuses |= {a["status"] for a in items}
        assert {"booked", "checked_in", "in_progress", "completed"} <= statuses
    finally:
        server.stop()
