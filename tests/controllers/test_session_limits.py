"""Issue 15, item 9: a login ends by its limits (SESSION_MAX_HOURS, SESSION_IDLE_MINUTES), and the
session check takes the account (whose session, which role, disabled or not) from the database."""

from __future__ import annotations

import datetime as dt

import pytest

from careconnect.hub import AuthFailed, HubPlugin
from careconnect.hub import Principal as HubPrincipal
from careconnect.security import decode_access_token, issue_access_token
from careconnect.tables import AuditEntry, AuthSession
from tests.conftest import app_client, app_dependency, make_settings, wipe
from tests.helpers import assert_problem, bearer, login, register, signed_in


def _ago(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)


async def _session(session_id: str) -> dict:
    row = await AuthSession.select().where(AuthSession.id == session_id).first()
    assert row is not None
    return row


async def test_a_token_naming_another_users_session_is_refused(client):
    settings = app_dependency(client.app, "settings")
    alice, alice_headers = await signed_in(client)
    bob = await register(client)
    bob_session = decode_access_token(settings, (await login(client, bob))["access_token"]).sid
    forged, _ = issue_access_token(settings, user_id=alice["id"], role="patient", session_id=bob_session)
    assert_problem(await client.get("/api/v1/users/me", headers=bearer(forged)), 401, "unauthorized")
    assert (await client.get("/api/v1/users/me", headers=alice_headers)).status_code == 200


async def test_the_role_comes_from_the_account_not_the_token(client):
    settings = app_dependency(client.app, "settings")
    patient = await register(client)
    tokens = await login(client, patient)
    sid = decode_access_token(settings, tokens["access_token"]).sid
    as_admin, _ = issue_access_token(settings, user_id=patient["id"], role="admin", session_id=sid)
    assert_problem(await client.get("/api/v1/admin/users", headers=bearer(as_admin)), 401, "unauthorized")
    assert_problem(await client.get("/api/v1/users/me", headers=bearer(as_admin)), 401, "unauthorized")
    assert (await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 200


async def test_a_session_past_its_absolute_limit_stops_working_on_the_api_and_the_hub(client):
    settings = app_dependency(client.app, "settings")
    user, headers = await signed_in(client)
    sid = decode_access_token(settings, headers["Authorization"].split()[1]).sid
    row = await _session(sid)
    assert row["expires_at"] - row["created_at"] == dt.timedelta(hours=settings.session_max_hours)
    hub = client.app.plugins.get(HubPlugin).hub
    principal = await hub.authenticator.authenticate(headers["Authorization"].split()[1])
    await hub.authenticator.check(principal)  # still good
    await AuthSession.update({AuthSession.expires_at: _ago(seconds=1)}).where(AuthSession.id == sid)
    app_dependency(client.app, "session_check").clear()  # as after session_check_seconds: the cache is only that old
    assert_problem(await client.get("/api/v1/users/me", headers=headers), 401, "unauthorized")
    with pytest.raises(AuthFailed):
        await hub.authenticator.check(HubPrincipal(id=user["id"], role="patient", name="", session_id=sid))
    row = await _session(sid)
    assert row["revoked_at"] is not None and row["revoked_reason"] == "max_age"
    assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})).status_code == 401
    [ended] = await AuditEntry.select().where(AuditEntry.action == "session.max_age")
    assert str(ended["actor_id"]) == user["id"] and ended["resource_id"] == sid and ended["outcome"] == "denied"


async def test_a_cached_session_ends_at_its_limit_without_waiting_for_the_cache(client):
    settings = app_dependency(client.app, "settings")
    _, headers = await signed_in(client)
    sid = decode_access_token(settings, headers["Authorization"].split()[1]).sid
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200  # cached now
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    await AuthSession.update({AuthSession.expires_at: soon}).where(AuthSession.id == sid)
    app_dependency(client.app, "session_check").clear()
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200  # cached with its end
    import asyncio

    await asyncio.sleep(1.2)
    assert_problem(await client.get("/api/v1/users/me", headers=headers), 401, "unauthorized")


async def test_refresh_after_the_absolute_limit_is_refused_and_audited(client):
    user = await register(client)
    tokens = await login(client, user)
    sid = decode_access_token(app_dependency(client.app, "settings"), tokens["access_token"]).sid
    await AuthSession.update({AuthSession.expires_at: _ago(minutes=1)}).where(AuthSession.id == sid)
    assert_problem(await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"}), 401, "unauthorized")
    assert (await _session(sid))["revoked_reason"] == "max_age"
    [ended] = await AuditEntry.select().where(AuditEntry.action == "session.max_age")
    assert ended["ip"] == "127.0.0.1" and ended["request_id"] and str(ended["actor_id"]) == user["id"]


async def test_doctors_and_admins_have_their_own_absolute_limit(database_url):
    settings = make_settings(database_url, session_max_hours=720, session_max_hours_staff=12)
    async with app_client(settings) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        for role, hours in (("doctor", 12), ("patient", 720)):
            _, headers = await signed_in(http, role)
            sid = decode_access_token(settings, headers["Authorization"].split()[1]).sid
            row = await _session(sid)
            assert row["expires_at"] - row["created_at"] == dt.timedelta(hours=hours), role


async def test_a_session_idle_for_too_long_ends_on_refresh(database_url):
    settings = make_settings(database_url, session_idle_minutes=30)
    async with app_client(settings) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        user = await register(http)
        tokens = await login(http, user)
        sid = decode_access_token(settings, tokens["access_token"]).sid
        await AuthSession.update({AuthSession.last_refreshed_at: _ago(minutes=20)}).where(AuthSession.id == sid)
        assert (await http.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})).status_code == 200
        assert (await _session(sid))["last_refreshed_at"] > _ago(minutes=1)  # the refresh counts
        await AuthSession.update({AuthSession.last_refreshed_at: _ago(minutes=31)}).where(AuthSession.id == sid)
        assert_problem(await http.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"}), 401, "unauthorized")
        row = await _session(sid)
        assert row["revoked_at"] is not None and row["revoked_reason"] == "idle"
        [ended] = await AuditEntry.select().where(AuditEntry.action == "session.idle")
        assert str(ended["actor_id"]) == user["id"] and ended["resource_id"] == sid


def test_each_app_has_one_session_check_of_its_own(sqlite_url):
    """No module-level cache: an app's middleware, hub and services share the one it built, with its TTL."""
    from careconnect.app import create_app

    first = create_app(make_settings(sqlite_url, session_check_seconds=5))
    second = create_app(make_settings(sqlite_url))
    check = app_dependency(first, "session_check")
    assert check.ttl == 5 and app_dependency(second, "session_check").ttl == 30
    assert check is not app_dependency(second, "session_check")
    assert first.plugins.get(HubPlugin).hub.authenticator.session_check is check
