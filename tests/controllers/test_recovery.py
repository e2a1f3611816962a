"""Account recovery and verification (API.md 1.1 "Accounts"), on SQLite and PostgreSQL: mailed
single-use links, no account enumeration, throttles, and every session ended by a reset."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from careconnect.domain.accounts.recovery import digest
from careconnect.domain.notifications.sealing import SecretBox
from careconnect.tables import AccountToken, AuditEntry, User
from careconnect.tables.outbox import OutboxJob
from tests.conftest import TEST_SECRET, app_client, app_dependency, make_settings, wipe
from tests.helpers import PASSWORD, admin, assert_problem, bearer, email, login, register, signed_in

NEW_PASSWORD = "a-brand-new-passphrase"
RESET = "/api/v1/auth/password-reset"
VERIFY = "/api/v1/auth/verify-email"


def an_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its outbox worker off: the mails stay queued, for the tests to read."""
    settings = make_settings(database_url, outbox_worker=False, mail_dir=str(tmp_path / "mail"))
    async with app_client(settings) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        yield http


def from_address(http: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=http.app, client=(address, 40000))  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def mailed_tokens(to: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The clear tokens of the queued mails of ``kind`` (``password-reset``, ``verify-email``) to ``to``, oldest first."""
    box = SecretBox(TEST_SECRET)
    rows = (
        await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.payload)
        .where(OutboxJob.dedupe_key.like(f"mail:{kind}:%"))
        .order_by(OutboxJob.created_at)
    )
    found = []
    for row in rows:
        payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
        if payload["to"]["email"] == to:
            token = box.open(payload["secret"], row["dedupe_key"])
            assert token is not None
            found.append((token, payload))
    return found


async def reset_token(http: httpx.AsyncClient, to: str) -> str:
    response = await http.post(f"{RESET}/request", json={"email": to})
    assert response.status_code == 202, response.text
    return (await mailed_tokens(to, "password-reset"))[-1][0]


async def audit_actions(prefix: str) -> list[dict[str, Any]]:
    return await AuditEntry.select().where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.id)


# Verification


async def test_verify_email_end_to_end(client):
    user, headers = await signed_in(client)
    assert user["email_verified"] is False
    assert (await client.post(f"{VERIFY}/request")).status_code == 401  # signed in only
    response = await client.post(f"{VERIFY}/request", headers=headers)
    assert response.status_code == 202
    assert "24 hours" in response.json()["detail"]
    ((token, payload),) = await mailed_tokens(user["email"], "verify-email")
    assert payload["category"] == "security"
    assert (await AccountToken.select(AccountToken.token_hash).first()) == {"token_hash": digest(token)}
    assert (await client.post(VERIFY, json={"token": token})).status_code == 204
    me = (await client.get("/api/v1/users/me", headers=headers)).json()
    assert me["email_verified"] is True
    # Used once: the second time it is refused.
    assert_problem(await client.post(VERIFY, json={"token": token}), 400, "invalid_token")
    # Already verified: 202, and no new mail.
    assert (await client.post(f"{VERIFY}/request", headers=headers)).status_code == 202
    assert len(await mailed_tokens(user["email"], "verify-email")) == 1
    outcomes = [(e["action"], e["outcome"]) for e in await audit_actions("account.verify_email")]
    assert outcomes == [
        ("account.verify_email_request", "success"),
        ("account.verify_email", "success"),
        ("account.verify_email", "invalid_token"),
        ("account.verify_email_request", "already_verified"),
    ]


async def test_verification_tokens_wrong_expired_superseded_or_of_a_disabled_account_are_refused(client):
    user, headers = await signed_in(client)
    for bad in ["nope", "x" * 128, "A" * 43]:
        assert_problem(await client.post(VERIFY, json={"token": bad}), 400, "invalid_token")
    assert (await client.post(VERIFY, json={"token": ""})).status_code == 422  # fails validation: problem details
    await client.post(f"{VERIFY}/request", headers=headers)
    await client.post(f"{VERIFY}/request", headers=headers)
    (first, _), (second, _) = await mailed_tokens(user["email"], "verify-email")
    assert_problem(await client.post(VERIFY, json={"token": first}), 400, "invalid_token")  # superseded
    # Expired: the row's expiry is in the past.
    await AccountToken.update({AccountToken.expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
        AccountToken.token_hash == digest(second)
    )
    assert_problem(await client.post(VERIFY, json={"token": second}), 400, "invalid_token")
    await client.post(f"{VERIFY}/request", headers=headers)
    third = (await mailed_tokens(user["email"], "verify-email"))[-1][0]
    await User.update({User.disabled_at: dt.datetime.now(dt.UTC)}).where(User.id == user["id"])
    assert_problem(await client.post(VERIFY, json={"token": third}), 400, "invalid_token")
    assert (await User.select(User.email_verified).where(User.id == user["id"]).first()) == {"email_verified": False}


async def test_verification_requests_are_throttled(client):
    _, headers = await signed_in(client)
    codes = [(await client.post(f"{VERIFY}/request", headers=headers)).status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]


# Password reset: the request


async def test_a_reset_request_answers_the_same_for_known_unknown_and_disabled_emails(client):
    known = await register(client)
    disabled = await register(client)
    await User.update({User.disabled_at: dt.datetime.now(dt.UTC)}).where(User.id == disabled["id"])
    answers = []
    for to in [known["email"], email("nobody"), disabled["email"], known["email"].upper()]:
        async with from_address(client, an_address()) as http:
            answers.append(await http.post(f"{RESET}/request", json={"email": to}))
    assert {r.status_code for r in answers} == {202}
    assert len({r.content for r in answers}) == 1
    assert {r.headers["content-type"] for r in answers} == {"application/json"}
    # Only the active account got mails (two: the second request superseded the first).
    assert len(await mailed_tokens(known["email"], "password-reset")) == 2
    assert await mailed_tokens(disabled["email"], "password-reset") == []
    assert await OutboxJob.count() == 2
    outcomes = [e["outcome"] for e in await audit_actions("account.password_reset_request")]
    assert outcomes == ["success", "unknown_email", "disabled", "success"]
    # The entries never hold the email.
    for entry in await audit_actions("account.password_reset_request"):
        assert "@" not in json.dumps(entry, default=str)


async def test_reset_requests_are_throttled_per_email_and_per_address(client):
    victim = email("victim")  # an unknown email is throttled as a known one: nothing to tell them apart
    answers = []
    for _ in range(4):
        async with from_address(client, an_address()) as http:
            answers.append(await http.post(f"{RESET}/request", json={"email": victim}))
    assert [r.status_code for r in answers] == [202, 202, 202, 429]
    refused = assert_problem(answers[-1], 429, "rate_limited")
    assert refused["detail"]
    assert 0 < int(answers[-1].headers["retry-after"]) <= 3600
    # One address asking for many emails is refused after 20.
    async with from_address(client, an_address()) as http:
        codes = [(await http.post(f"{RESET}/request", json={"email": email("many")})).status_code for _ in range(21)]
    assert codes == [202] * 20 + [429]
    assert (await audit_actions("account.password_reset_request"))[-1]["outcome"] == "rate_limited"


async def test_bad_reset_bodies_are_problem_details(client):
    for body in [{}, {"email": ""}, {"email": "a\x00b@example.com"}, {"email": 5}, {"email": "x" * 300}]:
        response = await client.post(f"{RESET}/request", json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for body in [{}, {"token": "t"}, {"token": "t", "new_password": "short"}, {"new_password": NEW_PASSWORD}]:
        response = await client.post(RESET, json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


# Password reset: following the link


async def test_a_reset_sets_the_password_proves_the_email_and_ends_every_session(client):
    user = await register(client)
    first = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    second = await login(client, user)
    old_refresh = first.cookies["cc_refresh"]
    access = second["access_token"]
    assert (await client.get("/api/v1/users/me", headers=bearer(access))).status_code == 200
    token = await reset_token(client, user["email"])
    response = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text
    # The old access token fails at once on this worker (SessionCheck forgot the sessions)...
    assert (await client.get("/api/v1/users/me", headers=bearer(access))).status_code == 401
    # ...and the old refresh token fails everywhere.
    client.cookies.clear()
    client.cookies.set("cc_refresh", old_refresh)
    refresh = await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})
    client.cookies.clear()
    assert refresh.status_code == 401
    # The new password works, the old one does not.
    old = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert_problem(old, 401, "unauthorized")
    signed = await login(client, {"email": user["email"], "password": NEW_PASSWORD})
    assert signed["user"]["email_verified"] is True
    # Single use.
    again = await client.post(RESET, json={"token": token, "new_password": "yet-another-passphrase"})
    assert_problem(again, 400, "invalid_token")
    outcomes = [(e["action"], e["outcome"]) for e in await audit_actions("account.password_reset")]
    assert outcomes == [
        ("account.password_reset_request", "success"),
        ("account.password_reset", "success"),
        ("account.password_reset", "invalid_token"),
    ]


async def test_an_old_access_token_fails_on_other_workers_within_the_session_check_ttl(client, database_url, tmp_path):
    """Another worker (a second app on the same database) caches a session's status for at most its TTL."""
    user = await register(client)
    access = (await login(client, user))["access_token"]
    settings = make_settings(
        database_url, outbox_worker=False, mail_dir=str(tmp_path / "other"), session_check_seconds=1
    )
    async with app_client(settings) as other:
        assert (await other.get("/api/v1/users/me", headers=bearer(access))).status_code == 200  # now cached there
        token = await reset_token(client, user["email"])
        assert (await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})).status_code == 204
        await asyncio.sleep(1.2)
        assert (await other.get("/api/v1/users/me", headers=bearer(access))).status_code == 401


async def test_reset_tokens_wrong_expired_superseded_or_of_a_disabled_account_are_refused(client):
    user = await register(client)
    for bad in ["unknown", "A" * 43, "y" * 128]:
        assert_problem(
            await client.post(RESET, json={"token": bad, "new_password": NEW_PASSWORD}), 400, "invalid_token"
        )
    older = await reset_token(client, user["email"])
    newer = await reset_token(client, user["email"])
    # A new request invalidates the older unused link.
    assert_problem(await client.post(RESET, json={"token": older, "new_password": NEW_PASSWORD}), 400, "invalid_token")
    # Expired (30 minutes): the row's expiry moved to the past.
    await AccountToken.update({AccountToken.expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
        AccountToken.token_hash == digest(newer)
    )
    assert_problem(await client.post(RESET, json={"token": newer, "new_password": NEW_PASSWORD}), 400, "invalid_token")
    # Valid 30 minutes, not more.
    latest = await reset_token(client, user["email"])
    row = await AccountToken.select().where(AccountToken.token_hash == digest(latest)).first()
    assert row is not None
    lifetime = row["expires_at"] - row["created_at"]
    assert lifetime == dt.timedelta(minutes=30)
    # A disabled account's link is refused (and the password stays).
    await User.update({User.disabled_at: dt.datetime.now(dt.UTC)}).where(User.id == user["id"])
    assert_problem(await client.post(RESET, json={"token": latest, "new_password": NEW_PASSWORD}), 400, "invalid_token")
    await User.update({User.disabled_at: None}).where(User.id == user["id"])
    await login(client, user)  # the old password still works
    # The verification token is not a reset token (nor the other way round).
    _, headers = await signed_in(client)
    me = (await client.get("/api/v1/users/me", headers=headers)).json()
    await client.post(f"{VERIFY}/request", headers=headers)
    ((verify, _),) = await mailed_tokens(me["email"], "verify-email")
    assert_problem(await client.post(RESET, json={"token": verify, "new_password": NEW_PASSWORD}), 400, "invalid_token")


async def test_user_a_token_resets_only_user_a(client):
    alice, bob = await register(client), await register(client)
    token = await reset_token(client, alice["email"])
    assert (await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})).status_code == 204
    await login(client, bob)  # bob's password is untouched
    await login(client, {"email": alice["email"], "password": NEW_PASSWORD})


async def test_two_concurrent_uses_of_one_token_have_one_winner(client):
    user = await register(client)
    token = await reset_token(client, user["email"])
    answers = await asyncio.gather(
        *(client.post(RESET, json={"token": token, "new_password": f"{NEW_PASSWORD}-{i}"}) for i in range(4))
    )
    assert sorted(r.status_code for r in answers) == [204, 400, 400, 400]


async def test_the_reset_closes_the_users_sockets(client):
    user = await register(client)
    closed: list[str] = []
    events = app_dependency(client.app, "events")

    async def disconnect_user(user_id: str) -> None:
        closed.append(user_id)

    original = events.disconnect_user
    events.disconnect_user = disconnect_user
    try:
        token = await reset_token(client, user["email"])
        assert (await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})).status_code == 204
    finally:
        events.disconnect_user = original
    assert closed == [user["id"]]


# Admin


async def test_admin_enables_a_disabled_account(client):
    _, admin_headers = await admin(client)
    user = await register(client)
    base = f"/api/v1/admin/users/{user['id']}"
    assert (await client.post(f"{base}/disable", headers=admin_headers)).json()["disabled"] is True
    assert_problem(
        await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}), 403, "forbidden"
    )
    enabled = await client.post(f"{base}/enable", headers=admin_headers)
    assert enabled.status_code == 200
    assert enabled.json().get("disabled", False) is False
    await login(client, user)
    assert (await client.post(f"{base}/enable", headers=admin_headers)).status_code == 200  # idempotent
    assert_problem(await client.post("/api/v1/admin/users/not-a-uuid/enable", headers=admin_headers), 404, "not_found")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(await client.post(f"/api/v1/admin/users/{unknown}/enable", headers=admin_headers), 404, "not_found")
    _, patient_headers = await signed_in(client)
    assert (await client.post(f"{base}/enable", headers=patient_headers)).status_code == 403
    outcomes = [e["outcome"] for e in await audit_actions("user.enable")]
    assert outcomes == ["success", "success", "not_found", "not_found"]


async def test_admin_sends_a_password_reset(client):
    _, admin_headers = await admin(client)
    user = await register(client)
    base = f"/api/v1/admin/users/{user['id']}"
    sent = await client.post(f"{base}/password-reset", headers=admin_headers)
    assert sent.status_code == 202, sent.text
    ((token, payload),) = await mailed_tokens(user["email"], "password-reset")
    assert payload["mail"]["requested_by_admin"] is True
    assert (await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})).status_code == 204
    await login(client, {"email": user["email"], "password": NEW_PASSWORD})
    _, patient_headers = await signed_in(client)
    assert (await client.post(f"{base}/password-reset", headers=patient_headers)).status_code == 403
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = await client.post(f"/api/v1/admin/users/{unknown}/password-reset", headers=admin_headers)
    assert_problem(missing, 404, "not_found")
    await client.post(f"{base}/disable", headers=admin_headers)
    assert_problem(await client.post(f"{base}/password-reset", headers=admin_headers), 409, "conflict")
    outcomes = [e["outcome"] for e in await audit_actions("user.password_reset")]
    assert outcomes == ["success", "not_found", "conflict"]
