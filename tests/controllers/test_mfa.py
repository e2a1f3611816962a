"""The TOTP second factor and MFA_REQUIRED_ROLES (API.md 1.1 "Accounts"), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest

from careconnect.security import token_digest
from careconnect.tables import AuditEntry, AuthSession, MfaChallenge, RecoveryCode, User
from tests.conftest import app_client, make_settings, wipe
from tests.helpers import PASSWORD, admin, assert_problem, bearer, login, register, signed_in


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


# secret -> the code that confirmed its enrolment (spent): a test that means "that code" uses it,
# not code_at(secret), which is another code once the clock passes a 30 s step.
SPENT: dict[str, str] = {}


async def enrol(client, headers) -> tuple[str, list[str]]:
    """Enrol and confirm TOTP; returns (secret, recovery codes). The confirming code (``SPENT``) is spent."""
    started = await client.post("/api/v1/users/me/mfa/totp", headers=headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    SPENT[secret] = code_at(secret)
    confirmed = await client.post("/api/v1/users/me/mfa/totp/confirm", json={"code": SPENT[secret]}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def challenge(client, user) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": user["password"]})
    body = assert_problem(response, 401, "mfa_required")
    assert "set-cookie" not in response.headers
    return body["mfa_token"]


async def forget_last_step(user_id: str) -> None:
    """Let the current TOTP step count again (tests sign in several times within 30 s)."""
    await User.update({User.totp_last_step: None}).where(User.id == user_id)


async def actions(user_id: str) -> list[tuple[str, str]]:
    rows = await AuditEntry.select(AuditEntry.action, AuditEntry.outcome).where(AuditEntry.actor_id == user_id)
    return [(r["action"], r["outcome"]) for r in rows]


async def test_enrol_confirm_then_login_needs_the_code(client):
    user, headers = await signed_in(client, "patient")
    started = await client.post("/api/v1/users/me/mfa/totp", headers=headers)
    assert started.status_code == 200
    secret, uri = started.json()["secret"], started.json()["otpauth_uri"]
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert parse_qs(parsed.query)["issuer"] == ["CareConnect"] and parse_qs(parsed.query)["secret"] == [secret]
    assert user["email"] in parsed.path.replace("%40", "@")
    # Not active yet: the password alone still signs in.
    assert (await login(client, user))["access_token"]
    row = await User.select(User.totp_secret, User.mfa_enabled_at).where(User.id == user["id"]).first()
    assert row["mfa_enabled_at"] is None and row["totp_secret"] and secret not in row["totp_secret"]
    wrong = await client.post("/api/v1/users/me/mfa/totp/confirm", json={"code": "000000"}, headers=headers)
    if wrong.status_code == 200:  # 1 in 10^6: 000000 was the code
        pytest.skip("000000 happened to be the current code")
    assert_problem(wrong, 422, "validation_error")
    confirmed = await client.post("/api/v1/users/me/mfa/totp/confirm", json={"code": code_at(secret)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = {
        r["code_hash"] for r in await RecoveryCode.select(RecoveryCode.code_hash).where(RecoveryCode.user == user["id"])
    }
    assert len(stored) == 10 and not stored & set(codes)
    status = (await client.get("/api/v1/users/me/mfa", headers=headers)).json()
    assert status == {"enabled": True, "required": False, "recovery_codes_left": 10}

    sessions_before = await AuthSession.count().where(AuthSession.user == user["id"])
    token = await challenge(client, user)
    assert await AuthSession.count().where(AuthSession.user == user["id"]) == sessions_before  # no session opened
    assert await MfaChallenge.exists().where(MfaChallenge.token_hash == token) is False  # stored hashed
    done = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": code_at(secret, 1)})
    assert done.status_code == 200, done.text
    assert done.json()["user"]["id"] == user["id"] and done.json()["token_type"] == "Bearer"
    assert "cc_refresh=" in done.headers["set-cookie"]
    me = await client.get("/api/v1/users/me", headers=bearer(done.json()["access_token"]))
    assert me.status_code == 200
    assert ("mfa.totp.enrol", "success") in await actions(user["id"])
    assert ("mfa.totp.confirm", "success") in await actions(user["id"])
    assert ("mfa.code.fail", "denied") in await actions(user["id"])
    assert ("mfa.login", "success") in await actions(user["id"])


async def test_replayed_mfa_token_and_reused_totp_code(client):
    user, headers = await signed_in(client)
    secret, _ = await enrol(client, headers)
    token = await challenge(client, user)
    # The code that confirmed the enrolment is spent: it does not sign in.
    same = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": SPENT[secret]})
    assert assert_problem(same, 401, "invalid_code")["attempts_left"] == 4
    ok = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": code_at(secret, 1)})
    assert ok.status_code == 200
    replay = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": code_at(secret, 1)})
    assert_problem(replay, 401, "invalid_token")
    # A new challenge with the code just used: refused (no reuse within its window).
    again = await client.post(
        "/api/v1/auth/login/mfa", json={"mfa_token": await challenge(client, user), "code": code_at(secret, 1)}
    )
    assert_problem(again, 401, "invalid_code")
    unknown = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": "nope", "code": "123456"})
    assert_problem(unknown, 401, "invalid_token")


async def test_expired_mfa_token(client):
    user, headers = await signed_in(client)
    secret, _ = await enrol(client, headers)
    token = await challenge(client, user)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await MfaChallenge.update({MfaChallenge.expires_at: past}).where(MfaChallenge.user == user["id"])
    response = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": code_at(secret, 1)})
    assert_problem(response, 401, "invalid_token")
    assert "set-cookie" not in response.headers
    # The challenge lives 5 minutes.
    token = await challenge(client, user)
    row = await MfaChallenge.select().where(MfaChallenge.token_hash == token_digest(token)).first()
    assert dt.timedelta(minutes=4) < row["expires_at"] - row["created_at"] <= dt.timedelta(minutes=5)


async def test_recovery_code_is_single_use(client):
    user, headers = await signed_in(client)
    _, codes = await enrol(client, headers)
    token = await challenge(client, user)
    typed = codes[3].upper().replace("-", " ")  # case and separators do not matter
    ok = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": typed})
    assert ok.status_code == 200, ok.text
    reused = await client.post(
        "/api/v1/auth/login/mfa", json={"mfa_token": await challenge(client, user), "code": codes[3]}
    )
    assert_problem(reused, 401, "invalid_code")
    status = (await client.get("/api/v1/users/me/mfa", headers=headers)).json()
    assert status["recovery_codes_left"] == 9
    assert ("mfa.recovery_code.use", "success") in await actions(user["id"])


async def test_wrong_code_six_times_spends_the_token(client):
    user, headers = await signed_in(client)
    secret, _ = await enrol(client, headers)
    token = await challenge(client, user)
    right = code_at(secret, 1)
    wrong = "111111" if right != "111111" else "222222"
    for left in (4, 3, 2, 1, 0):
        response = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": wrong})
        assert assert_problem(response, 401, "invalid_code")["attempts_left"] == left
    sixth = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": wrong})
    assert_problem(sixth, 401, "invalid_token")
    late = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": right})
    assert_problem(late, 401, "invalid_token")
    assert (await actions(user["id"])).count(("mfa.code.fail", "denied")) == 5


async def test_disable_needs_password_and_code(client):
    user, headers = await signed_in(client)
    none = await client.request(
        "DELETE", "/api/v1/users/me/mfa/totp", json={"password": PASSWORD, "code": "123456"}, headers=headers
    )
    assert_problem(none, 409, "invalid_state")
    secret, codes = await enrol(client, headers)
    again = await client.post("/api/v1/users/me/mfa/totp", headers=headers)
    assert_problem(again, 409, "conflict")
    bad_password = await client.request(
        "DELETE",
        "/api/v1/users/me/mfa/totp",
        json={"password": "wrong-password", "code": code_at(secret, 1)},
        headers=headers,
    )
    assert_problem(bad_password, 422, "validation_error")
    bad_code = await client.request(
        "DELETE", "/api/v1/users/me/mfa/totp", json={"password": PASSWORD, "code": SPENT[secret]}, headers=headers
    )
    assert_problem(bad_code, 422, "validation_error")  # the confirming code is spent
    assert (await client.get("/api/v1/users/me/mfa", headers=headers)).json()["enabled"] is True
    off = await client.request(
        "DELETE", "/api/v1/users/me/mfa/totp", json={"password": PASSWORD, "code": codes[0]}, headers=headers
    )
    assert off.status_code == 204, off.text
    assert (await login(client, user))["access_token"]  # the password alone again
    assert await RecoveryCode.count().where(RecoveryCode.user == user["id"]) == 0
    assert ("mfa.totp.disable", "success") in await actions(user["id"])
    # Re-enrolment works and gives a new secret.
    assert (await enrol(client, headers))[0] != secret


async def test_confirm_without_enrolment_and_validation(client):
    _, headers = await signed_in(client)
    response = await client.post("/api/v1/users/me/mfa/totp/confirm", json={"code": "123456"}, headers=headers)
    assert_problem(response, 409, "invalid_state")
    assert_problem(
        await client.post("/api/v1/users/me/mfa/totp/confirm", json={}, headers=headers), 422, "validation_error"
    )
    long = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": "x", "code": "1" * 33})
    assert_problem(long, 422, "validation_error")
    assert_problem(await client.post("/api/v1/users/me/mfa/totp"), 401, "unauthorized")
    assert_problem(await client.get("/api/v1/users/me/mfa"), 401, "unauthorized")


async def test_login_mfa_for_a_disabled_account(client):
    user, headers = await signed_in(client)
    secret, _ = await enrol(client, headers)
    token = await challenge(client, user)
    await User.update({User.disabled_at: dt.datetime.now(dt.UTC)}).where(User.id == user["id"])
    response = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": code_at(secret, 1)})
    assert_problem(response, 403, "forbidden")


async def test_mfa_required_roles_allow_only_the_account_and_enrolment(database_url):
    async with app_client(make_settings(database_url, mfa_required_roles=("doctor",))) as client:
        await wipe(client.app)
        doctor, headers = await signed_in(client, "doctor")
        _, patient_headers = await signed_in(client, "patient")
        assert (await client.get("/api/v1/appointments", headers=patient_headers)).status_code == 200
        assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
        patched = await client.patch("/api/v1/users/me", json={"full_name": "Dr New"}, headers=headers)
        assert patched.status_code == 200 and patched.json()["full_name"] == "Dr New"
        for method, path in (
            ("GET", "/api/v1/appointments"),
            ("GET", "/api/v1/doctors/me/availability"),
            ("GET", f"/api/v1/doctors/{doctor['id']}"),
        ):
            response = await client.request(method, path, headers=headers)
            assert_problem(response, 403, "mfa_enrollment_required")
        change = await client.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": "another-password-1"},
            headers=headers,
        )
        assert_problem(change, 403, "mfa_enrollment_required")
        status = (await client.get("/api/v1/users/me/mfa", headers=headers)).json()
        assert status == {"enabled": False, "required": True, "recovery_codes_left": 0}
        await enrol(client, headers)
        # At once (this worker forgets the cached session state on confirm).
        assert (await client.get("/api/v1/appointments", headers=headers)).status_code == 200
        logout = await client.post("/api/v1/auth/logout", headers=headers)
        assert logout.status_code == 204


async def test_mfa_required_roles_let_logout_and_refresh_through(database_url):
    async with app_client(make_settings(database_url, mfa_required_roles=("doctor", "admin"))) as client:
        await wipe(client.app)
        doctor = await register(client, "doctor")
        tokens = await login(client, doctor)
        headers = bearer(tokens["access_token"])
        refreshed = await client.post("/api/v1/auth/refresh", headers={**headers, "X-CSRF": "1"})
        assert refreshed.status_code == 200, refreshed.text
        headers = bearer(refreshed.json()["access_token"])
        assert_problem(await client.get("/api/v1/appointments", headers=headers), 403, "mfa_enrollment_required")
        assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204


async def test_wrong_password_never_reveals_the_second_factor(client):
    user, headers = await signed_in(client)
    await enrol(client, headers)
    response = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": "wrong-password!"})
    body = assert_problem(response, 401, "unauthorized")
    assert "mfa_token" not in body
    assert await MfaChallenge.count().where(MfaChallenge.user == user["id"]) == 0


async def test_wrong_codes_are_throttled_across_tokens_and_capped_per_account(client):
    """A right password earns a fresh mfa_token each time, so the per-token count alone is not enough:
    the shared throttle counts codes per (account, address), and the account's wrong codes over every
    address are capped at the password step."""
    user, headers = await signed_in(client)
    secret, _ = await enrol(client, headers)
    right = code_at(secret, 1)
    wrong = "111111" if right != "111111" else "222222"
    token = await challenge(client, user)
    for _ in range(5):
        response = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": wrong})
        assert_problem(response, 401, "invalid_code")
    # A new token from the same address: the next code, even the right one, waits.
    token = await challenge(client, user)
    refused = await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": right})
    assert_problem(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60 + 1
    # Guessing from many addresses: the account's 20 wrong codes close the password step itself.
    wrong_codes, address = 5, 1
    app = client.app  # type: ignore[attr-defined]
    while True:
        transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{address}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            response = await other.post(
                "/api/v1/auth/login", json={"email": user["email"], "password": user["password"]}
            )
            if response.status_code == 429:
                break
            token = assert_problem(response, 401, "mfa_required")["mfa_token"]
            while True:
                response = await other.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": wrong})
                if response.status_code == 429 or response.json()["code"] == "invalid_token":
                    break
                assert_problem(response, 401, "invalid_code")
                wrong_codes += 1
        address += 1
        assert address < 30, "the account cap never closed the password step"
    assert wrong_codes == 20
    body = assert_problem(response, 429, "rate_limited")
    assert "mfa_token" not in body and 0 < int(response.headers["retry-after"]) <= 15 * 60 + 1
    # The window passes: a new challenge again (the throttle's counters are per window too).
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    await MfaChallenge.update({MfaChallenge.created_at: past}).where(MfaChallenge.user == user["id"])
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fresh:
        response = await fresh.post("/api/v1/auth/login", json={"email": user["email"], "password": user["password"]})
        token = assert_problem(response, 401, "mfa_required")["mfa_token"]


async def test_bots_have_no_second_factor_and_admins_enrol_like_anyone(client):
    _, admin_headers = await admin(client)
    creds = (await client.post("/api/v1/admin/integrations", json={"name": "Bot"}, headers=admin_headers)).json()
    token = await client.post(
        "/api/v1/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    bot = bearer(token.json()["access_token"])
    assert_problem(await client.post("/api/v1/users/me/mfa/totp", headers=bot), 403, "forbidden")
    assert_problem(await client.get("/api/v1/users/me/mfa", headers=bot), 403, "forbidden")
    await enrol(client, admin_headers)
    assert (await client.get("/api/v1/users/me/mfa", headers=admin_headers)).json()["enabled"] is True
