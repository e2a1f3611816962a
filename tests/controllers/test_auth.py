"""Every auth rule of API.md, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import jwt
import msgspec
import pytest

from careconnect.security import token_digest
from careconnect.tables import AuthSession, RefreshToken
from tests.conftest import TEST_SECRET, app_client, app_dependency, wipe
from tests.helpers import PASSWORD, admin, assert_problem, bearer, email, login, register, signed_in


async def test_register_and_login_round_trip(client):
    user = await register(client, "patient", email="Mixed.Case@Example.com")
    assert user["email"] == "mixed.case@example.com"
    assert user["role"] == "patient"
    assert user["timezone"] == "Europe/Paris"
    tokens = await client.post("/api/v1/auth/login", json={"email": "MIXED.case@example.com", "password": PASSWORD})
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 15 * 60
    assert body["user"]["id"] == user["id"]
    cookie = tokens.headers["set-cookie"]
    assert "cc_refresh=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Path=/api/v1/auth" in cookie
    me = await client.get("/api/v1/users/me", headers=bearer(body["access_token"]))
    assert me.json()["email"] == "mixed.case@example.com"


async def test_duplicate_email_is_conflict_case_insensitively(client):
    await register(client, email="dup@example.com")
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "DUP@example.com", "password": PASSWORD, "full_name": "X", "role": "patient"},
    )
    assert_problem(response, 409, "conflict")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "short"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"role": "admin"}, "role"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"full_name": ""}, "full_name"),
    ],
)
async def test_register_validation_lists_fields(client, body, field):
    payload = {"email": email(), "password": PASSWORD, "full_name": "X", "role": "patient", **body}
    response = await client.post("/api/v1/auth/register", json=payload)
    problem = assert_problem(response, 422, "validation_error")
    assert any(field in error["field"] for error in problem["errors"]), problem


async def test_doctor_needs_profile_and_can_be_switched_off(client, settings):
    response = await client.post(
        "/api/v1/auth/register", json={"email": email(), "password": PASSWORD, "full_name": "D", "role": "doctor"}
    )
    assert_problem(response, 422, "validation_error")
    doctor = await register(client, "doctor")
    assert doctor["doctor"]["specialty"] == "Cardiology"
    from tests.conftest import app_client, make_settings

    async with app_client(make_settings(settings.database_url, doctor_self_registration=False)) as other:
        response = await other.post(
            "/api/v1/auth/register",
            json={
                "email": email(),
                "password": PASSWORD,
                "full_name": "D",
                "role": "doctor",
                "doctor": {"specialty": "GP"},
            },
        )
        assert_problem(response, 403, "forbidden")


async def test_wrong_email_and_wrong_password_look_the_same(client):
    user = await register(client)
    wrong_password = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": "x" * 12})
    wrong_email = await client.post("/api/v1/auth/login", json={"email": email(), "password": PASSWORD})
    a = assert_problem(wrong_password, 401, "unauthorized")
    b = assert_problem(wrong_email, 401, "unauthorized")
    assert a["detail"] == b["detail"]


async def test_login_is_rate_limited_per_account(client):
    user = await register(client)
    for _ in range(5):
        response = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": "wrong" * 3})
        assert response.status_code == 401
    response = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 0


async def test_login_failures_from_one_ip_for_other_accounts_refuse_no_one(client):
    """Issue 15: one address's failures at other accounts no longer refuse a right password (far limit: 100)."""
    for _ in range(20):
        response = await client.post("/api/v1/auth/login", json={"email": email(), "password": "wrong" * 3})
        assert response.status_code == 401
    user = await register(client)
    response = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert response.status_code == 200, response.text


async def refresh(client: httpx.AsyncClient, cookie: str | None = None) -> httpx.Response:
    """POST /auth/refresh, presenting ``cookie`` (else the jar's); the jar then holds only the answer's."""
    if cookie is not None:
        client.cookies.delete("cc_refresh")
        client.cookies.set("cc_refresh", cookie, path="/api/v1/auth")
    response = await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})
    if "cc_refresh" in response.cookies:
        client.cookies.delete("cc_refresh")
        client.cookies.set("cc_refresh", response.cookies["cc_refresh"], path="/api/v1/auth")
    return response


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    user = await register(client)
    await login(client, user)
    first_cookie = client.cookies.get("cc_refresh")
    refreshed = await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})
    assert refreshed.status_code == 200, refreshed.text
    second_cookie = client.cookies.get("cc_refresh")
    assert second_cookie and second_cookie != first_cookie
    assert (await refresh(client)).status_code == 200  # the chain moves on: the first is two back
    new_access = refreshed.json()["access_token"]
    assert (await client.get("/api/v1/users/me", headers=bearer(new_access))).status_code == 200
    # Replaying a rotated token (not the one rotated last): 401, and the whole family is revoked.
    client.cookies.set("cc_refresh", first_cookie, path="/api/v1/auth")
    replay = await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})
    assert_problem(replay, 401, "unauthorized")
    client.cookies.set("cc_refresh", second_cookie, path="/api/v1/auth")
    after = await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})
    assert_problem(after, 401, "unauthorized")
    assert_problem(await client.get("/api/v1/users/me", headers=bearer(new_access)), 401, "unauthorized")


async def test_a_refresh_whose_response_was_lost_is_answered_again_within_the_grace_window(client):
    """The browser cut off a refresh (a navigation): its page still holds the token just rotated.
    Presented again within REFRESH_REUSE_GRACE_SECONDS it gets a new token; the one the lost
    response carried is retired, so one refresh token stays live; the replay window closes."""
    user = await register(client)
    await login(client, user)
    lost_from = client.cookies.get("cc_refresh")
    assert (await refresh(client)).status_code == 200
    never_arrived = client.cookies.get("cc_refresh")
    again = await refresh(client, lost_from)
    assert again.status_code == 200, again.text
    live = client.cookies.get("cc_refresh")
    assert live not in (lost_from, never_arrived)
    assert (await client.get("/api/v1/users/me", headers=bearer(again.json()["access_token"]))).status_code == 200
    # The token given first is no longer the last rotated one: presenting it again is a replay.
    assert_problem(await refresh(client, lost_from), 401, "unauthorized")
    assert_problem(await refresh(client, live), 401, "unauthorized")  # the family is gone


async def test_a_rotated_token_after_the_grace_window_ends_the_session(client):
    user = await register(client)
    await login(client, user)
    old = client.cookies.get("cc_refresh")
    assert (await refresh(client)).status_code == 200
    newest = client.cookies.get("cc_refresh")
    # The rotation happened 31 seconds ago (the default window is 30).
    await RefreshToken.update({RefreshToken.rotated_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=31)}).where(
        RefreshToken.token_hash == token_digest(old)
    )
    assert_problem(await refresh(client, old), 401, "unauthorized")
    assert_problem(await refresh(client, newest), 401, "unauthorized")
    assert await AuthSession.count().where(AuthSession.revoked_reason == "refresh_reuse") == 1


async def test_the_grace_window_can_be_switched_off(settings):
    async with app_client(msgspec.structs.replace(settings, refresh_reuse_grace_seconds=0)) as strict:
        await wipe(strict.app)  # type: ignore[attr-defined]
        user = await register(strict)
        await login(strict, user)
        old = strict.cookies.get("cc_refresh")
        assert (await refresh(strict)).status_code == 200
        assert_problem(await refresh(strict, old), 401, "unauthorized")
        assert_problem(await refresh(strict), 401, "unauthorized")


async def test_refresh_requires_csrf_header(client):
    user = await register(client)
    await login(client, user)
    response = await client.post("/api/v1/auth/refresh")
    assert_problem(response, 403, "forbidden")
    # The cookie was not used up by the rejected attempt.
    assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})).status_code == 200


async def test_logout_revokes_and_clears_cookie(client):
    user = await register(client)
    tokens = await login(client, user)
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    assert 'cc_refresh=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert_problem(await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"])), 401, "unauthorized")


def _forge(claims: dict, key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def test_forged_and_malformed_tokens_are_rejected(client):
    user = await register(client)
    tokens = await login(client, user)
    good = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    now = int(time.time())
    cases = {
        "alg none": jwt.encode(good, None, algorithm="none"),
        "other algorithm": _forge(good, key=TEST_SECRET * 2, algorithm="HS512"),
        "wrong key": _forge(good, key="another-secret-key-" + "y" * 32),
        "expired": _forge({**good, "iat": now - 3600, "exp": now - 60}),
        "wrong aud": _forge({**good, "aud": "someone-else"}),
        "wrong iss": _forge({**good, "iss": "evil"}),
        "refresh typ": _forge({**good, "typ": "refresh"}),
        "missing sid": _forge({k: v for k, v in good.items() if k != "sid"}),
        "garbage": "not.a.jwt",
    }
    for name, token in cases.items():
        response = await client.get("/api/v1/users/me", headers=bearer(token))
        assert response.status_code == 401, name
    assert (await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 200


async def test_password_change_ends_other_sessions(client):
    user = await register(client)
    tab_a = (await login(client, user))["access_token"]
    tab_b = (await login(client, user))["access_token"]
    response = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-password"},
        headers=bearer(tab_a),
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(tab_a))).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=bearer(tab_b))).status_code == 401
    wrong = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not-the-password", "new_password": "another-new-password"},
        headers=bearer(tab_a),
    )
    assert_problem(wrong, 422, "validation_error")


async def test_admin_disable_ends_every_session(client):
    _, admin_headers = await admin(client)
    user, headers = await signed_in(client)
    response = await client.post(f"/api/v1/admin/users/{user['id']}/disable", headers=admin_headers)
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert_problem(await client.get("/api/v1/users/me", headers=headers), 401, "unauthorized")
    login_again = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert_problem(login_again, 403, "forbidden")


async def test_revocation_reaches_other_workers_within_the_check_interval(client):
    """Another worker's cache may hold "active" for at most session_check_seconds (30 s)."""
    user, headers = await signed_in(client)
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    # Revoke behind this worker's back, as another worker would.
    import datetime as dt

    from careconnect.tables import AuthSession

    await AuthSession.update({AuthSession.revoked_at: dt.datetime.now(dt.UTC)}).where(AuthSession.user == user["id"])
    session_check = app_dependency(client.app, "session_check")
    for sid, (status, checked, *rest) in list(session_check._cache.items()):
        session_check._cache[sid] = (status, checked - session_check.ttl - 1, *rest)
    assert session_check.ttl <= 30
    assert_problem(await client.get("/api/v1/users/me", headers=headers), 401, "unauthorized")


async def test_client_credentials_for_bots(client):
    _, admin_headers = await admin(client)
    created = await client.post("/api/v1/admin/integrations", json={"name": "Triage bot"}, headers=admin_headers)
    assert created.status_code == 201
    creds = created.json()
    token = await client.post(
        "/api/v1/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert token.status_code == 200
    assert "set-cookie" not in token.headers
    me = await client.get("/api/v1/users/me", headers=bearer(token.json()["access_token"]))
    assert me.json()["role"] == "bot" and me.json()["full_name"] == "Triage bot"
    bad = await client.post(
        "/api/v1/auth/token",
        json={"grant_type": "client_credentials", "client_id": creds["client_id"], "client_secret": "nope"},
    )
    assert_problem(bad, 401, "unauthorized")
    wrong_grant = await client.post(
        "/api/v1/auth/token", json={"grant_type": "password", "client_id": "x", "client_secret": "y"}
    )
    assert_problem(wrong_grant, 422, "validation_error")


async def test_eddsa_tokens_and_no_algorithm_confusion(database_url, tmp_path):
    """With JWT_ALGORITHM=EdDSA only EdDSA verifies: an HS256 token signed with the public key fails."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from careconnect.settings import load_settings
    from tests.conftest import app_client, wipe

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "private.pem").write_bytes(private)
    (tmp_path / "public.pem").write_bytes(public)
    settings = load_settings(
        {
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "JWT_ALGORITHM": "EdDSA",
            "JWT_PRIVATE_KEY_FILE": str(tmp_path / "private.pem"),
            "JWT_PUBLIC_KEY_FILE": str(tmp_path / "public.pem"),
        }
    )
    async with app_client(settings) as client:
        await wipe(client.app)
        user = await register(client)
        tokens = await login(client, user)
        assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "EdDSA"
        assert (await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 200
        claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        confused = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
        assert (await client.get("/api/v1/users/me", headers=bearer(confused))).status_code == 401


async def test_a_readable_session_hint_goes_with_the_refresh_cookie_and_leaves_with_it(client):
    """``cc_session=1`` (no secret, readable by scripts, path /) tells the web client a refresh
    is worth asking for, so anonymous pages never log a 401; logout clears both cookies."""
    user = await register(client)
    tokens = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    cookies = tokens.headers.get_list("set-cookie")
    hint = next(c for c in cookies if c.startswith("cc_session="))
    assert hint.startswith("cc_session=1;") and "HttpOnly" not in hint and "Path=/;" in hint + ";"
    assert "samesite=strict" in hint.lower()
    refresh = next(c for c in cookies if c.startswith("cc_refresh="))
    assert tokens.json()["access_token"] not in hint and refresh.split(";")[0] != hint.split(";")[0]
    renewed = await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})
    assert any(c.startswith("cc_session=1;") for c in renewed.headers.get_list("set-cookie"))
    out = await client.post("/api/v1/auth/logout")
    cleared = [c for c in out.headers.get_list("set-cookie") if c.startswith("cc_session=")]
    assert cleared and ("Max-Age=0" in cleared[0] or 'cc_session="";' in cleared[0])
