"""Argon2 never runs on the event loop: a hash costs 50-200 ms of CPU here, and on the loop one
sign-in would stall every socket of the worker (every chat message it relays) for that long.
``careconnect.security`` hashes and verifies on its own threads; every path that does either
(registration, sign-in with a right, wrong or unknown password, a bot's client credentials, a
password change) is taken here, and each hash's thread is recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from careconnect import security
from tests.helpers import PASSWORD, admin, assert_problem, bearer, login, register


class _Recording(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def hash(self, password, *, salt=None):  # type: ignore[no-untyped-def]
        self.threads.append(threading.current_thread().name)
        return super().hash(password, salt=salt)

    def verify(self, hash, password):  # type: ignore[no-untyped-def]  # noqa: A002 - argon2's own name
        self.threads.append(threading.current_thread().name)
        return super().verify(hash, password)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Recording]:
    hasher = _Recording()
    monkeypatch.setattr(security, "_hasher", hasher)
    yield hasher


async def test_every_hash_and_check_runs_off_the_event_loop(client, recording: _Recording) -> None:
    user = await register(client, "patient")
    tokens = await login(client, user)
    wrong = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": "not-the-password-1"})
    assert_problem(wrong, 401, "unauthorized")
    unknown = await client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert_problem(unknown, 401, "unauthorized")
    changed = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a-new-password-0123"},
        headers=bearer(tokens["access_token"]),
    )
    assert changed.status_code == 204, changed.text
    _, admin_headers = await admin(client)
    bot = await client.post("/api/v1/admin/integrations", json={"name": "Hash bot"}, headers=admin_headers)
    assert bot.status_code == 201, bot.text
    credentials = {"grant_type": "client_credentials", "client_id": bot.json()["client_id"]}
    granted = await client.post(
        "/api/v1/auth/token", json={**credentials, "client_secret": bot.json()["client_secret"]}
    )
    assert granted.status_code == 200, granted.text
    refused = await client.post("/api/v1/auth/token", json={**credentials, "client_secret": "wrong"})
    assert_problem(refused, 401, "unauthorized")
    # register, login, wrong, unknown, change (check + hash), admin (hash + login), bot (hash), two grants
    assert len(recording.threads) >= 11, recording.threads
    on_the_loop = [name for name in recording.threads if not name.startswith("careconnect-argon2")]
    assert on_the_loop == [], recording.threads
