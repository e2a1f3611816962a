"""Issue 15, item 8: sign-ins, failures, logouts, refresh reuse and password changes are audit
entries with the actor, the trusted ip, the request id and the outcome; denied attempts on
clinical resources keep the patient's id when the resource exists."""

from __future__ import annotations

from typing import Any

from careconnect.tables import AuditEntry
from tests.consult_helpers import INTAKE, open_doctor, visit
from tests.helpers import PASSWORD, assert_problem, bearer, login, register, signed_in


async def entries(action: str) -> list[dict[str, Any]]:
    return list(await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.at))


def _who(entry: dict[str, Any]) -> tuple[str | None, str, str | None, str]:
    actor = str(entry["actor_id"]) if entry["actor_id"] else None
    return actor, entry["actor_role"], entry["resource_id"], entry["outcome"]


async def test_sign_ins_and_failed_sign_ins_are_audited_without_the_password(client):
    user = await register(client)
    wrong = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": "wrong-password-1"})
    assert_problem(wrong, 401, "unauthorized")
    stranger = await client.post(
        "/api/v1/auth/login", json={"email": "nobody-at-all@example.com", "password": "wrong-password-2"}
    )
    assert_problem(stranger, 401, "unauthorized")
    ok = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}, headers={"X-Request-ID": "mine-1"}
    )
    assert ok.status_code == 200
    trail = await entries("auth.login")
    assert [_who(e) for e in trail] == [
        (None, "anonymous", user["id"], "denied"),  # the attempted account, not an actor
        (None, "anonymous", None, "denied"),  # an unknown email names no account
        (user["id"], "patient", user["id"], "success"),
    ]
    assert all(e["ip"] == "127.0.0.1" and len(e["request_id"]) == 32 for e in trail)
    # The client's own X-Request-ID is echoed to it, but the audit entry keeps the server's id.
    assert ok.headers["x-request-id"] == "mine-1" and trail[2]["request_id"] != "mine-1"
    everything = str(await AuditEntry.select())
    for secret in ("wrong-password-1", "wrong-password-2", PASSWORD, user["email"], "nobody-at-all"):
        assert secret not in everything


async def test_a_disabled_account_signing_in_is_a_denied_entry(client):
    from tests.helpers import admin

    user = await register(client)
    _, admin_headers = await admin(client)
    assert (await client.post(f"/api/v1/admin/users/{user['id']}/disable", headers=admin_headers)).status_code == 200
    response = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert response.status_code == 403
    assert [_who(e) for e in await entries("auth.login")][-1] == (None, "anonymous", user["id"], "denied")


async def test_logout_and_a_refresh_that_revokes_the_family_are_audited(client):
    user = await register(client)
    await login(client, user)
    first_cookie = client.cookies.get("cc_refresh")
    assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})).status_code == 200
    assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})).status_code == 200
    client.cookies.set("cc_refresh", first_cookie, path="/api/v1/auth")  # a stolen token, two rotations back
    assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})).status_code == 401
    [reuse] = await entries("session.refresh_reuse")
    session_id = reuse["resource_id"]
    assert _who(reuse) == (user["id"], "patient", session_id, "denied") and reuse["ip"] == "127.0.0.1"
    # Another replay revokes nothing new: still one entry for the one revocation.
    assert (await client.post("/api/v1/auth/refresh", headers={"X-CSRF": "1"})).status_code == 401
    assert len(await entries("session.refresh_reuse")) == 1

    client.cookies.clear()
    second = await login(client, user)
    response = await client.post("/api/v1/auth/logout", headers=bearer(second["access_token"]))
    assert response.status_code == 204
    [logout] = await entries("auth.logout")
    assert logout["actor_id"] is not None and str(logout["actor_id"]) == user["id"]
    assert logout["outcome"] == "success" and logout["resource_type"] == "session" and logout["request_id"]


async def test_password_changes_are_audited(client):
    user, headers = await signed_in(client)
    wrong = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not-the-password", "new_password": "another-good-one-9"},
        headers=headers,
    )
    assert wrong.status_code == 422
    right = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another-good-one-9"},
        headers=headers,
    )
    assert right.status_code == 204
    trail = await entries("account.password_change")
    assert [_who(e) for e in trail] == [
        (user["id"], "patient", user["id"], "denied"),
        (user["id"], "patient", user["id"], "success"),
    ]
    everything = str(await AuditEntry.select())
    assert "not-the-password" not in everything and "another-good-one-9" not in everything


async def test_denied_attempts_on_clinical_resources_keep_the_patient_id(client):
    v = await visit(client)
    aid, patient_id = v["id"], v["patient"]["id"]
    assert (
        await client.put(f"/api/v1/appointments/{aid}/intake", json=INTAKE, headers=v["patient_headers"])
    ).status_code == 200
    _, stranger = await signed_in(client)  # another patient
    _, other_doctor_headers = await open_doctor(client)
    attempts = [
        ("get", f"/api/v1/appointments/{aid}/intake", stranger, "intake.read"),
        ("put", f"/api/v1/appointments/{aid}/intake", stranger, "intake.write"),
        ("get", f"/api/v1/appointments/{aid}/intake", other_doctor_headers, "intake.read"),
        ("get", f"/api/v1/consultations/{aid}/notes", stranger, "notes.read"),
        ("get", f"/api/v1/consultations/{aid}/notes", v["patient_headers"], "notes.read"),  # the patient: 404
        ("get", f"/api/v1/consultations/{aid}/summary", stranger, "summary.read"),
        ("get", f"/api/v1/consultations/{aid}/messages", other_doctor_headers, "messages.read"),
        ("get", f"/api/v1/patients/{patient_id}/history", other_doctor_headers, "history.read"),
    ]
    for method, path, headers, _ in attempts:
        kwargs: dict[str, Any] = {"json": INTAKE} if method == "put" else {}
        response = await client.request(method.upper(), path, headers=headers, **kwargs)
        assert response.status_code in (403, 404), (path, response.text)
    denied = [e for e in await AuditEntry.select().order_by(AuditEntry.at) if e["outcome"] not in ("success",)]
    denied = [e for e in denied if e["action"] in {a[3] for a in attempts}]
    assert [e["action"] for e in denied] == [a[3] for a in attempts]
    assert all(str(e["patient_id"]) == patient_id for e in denied), denied
    assert all(e["ip"] == "127.0.0.1" and e["request_id"] for e in denied)
    # A resource that does not exist names no patient.
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/api/v1/consultations/{missing}/notes", headers=stranger)).status_code == 404
    assert (await client.get(f"/api/v1/patients/{missing}/history", headers=other_doctor_headers)).status_code == 404
    last = list(await AuditEntry.select().order_by(AuditEntry.at, ascending=False).limit(2))
    assert [e["patient_id"] for e in last] == [None, None]


async def test_phi_responses_are_not_stored_by_caches(client):
    v = await visit(client)
    aid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    await client.put(f"/api/v1/appointments/{aid}/intake", json=INTAKE, headers=p)
    from tests.helpers import admin

    _, admin_headers = await admin(client)
    routes = [
        ("/api/v1/users/me", p),
        ("/api/v1/appointments", p),
        (f"/api/v1/appointments/{aid}", p),
        (f"/api/v1/appointments/{aid}/intake", d),
        (f"/api/v1/appointments/{aid}/calendar.ics", p),
        (f"/api/v1/consultations/{aid}/notes", d),
        (f"/api/v1/consultations/{aid}/summary", p),
        (f"/api/v1/consultations/{aid}/messages", p),
        (f"/api/v1/patients/{v['patient']['id']}/history", d),
        ("/api/v1/admin/audit", admin_headers),
        (f"/api/v1/appointments/{aid}/intake", {}),  # an error answer too
    ]
    for path, headers in routes:
        response = await client.get(path, headers=headers)
        assert response.status_code < 500, path
        assert response.headers.get("cache-control") == "no-store", path
    # The sign-in answer carries the access token.
    login_response = await client.post(
        "/api/v1/auth/login", json={"email": v["patient"]["email"], "password": PASSWORD}
    )
    assert login_response.headers["cache-control"] == "no-store"
    # Public, non-API pages keep their own caching.
    assert (await client.get("/healthz")).headers.get("cache-control") != "no-store"


async def test_bot_sign_ins_are_audited_too(client):
    from tests.helpers import admin

    _, admin_headers = await admin(client)
    created = (await client.post("/api/v1/admin/integrations", json={"name": "Scribe"}, headers=admin_headers)).json()
    wrong = await client.post(
        "/api/v1/auth/token",
        json={"grant_type": "client_credentials", "client_id": created["client_id"], "client_secret": "nope-nope"},
    )
    assert wrong.status_code == 401
    ok = await client.post(
        "/api/v1/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    )
    assert ok.status_code == 200, ok.text
    bot_id = ok.json()["user"]["id"]
    assert [_who(e) for e in await entries("auth.token")] == [
        (None, "anonymous", bot_id, "denied"),
        (bot_id, "bot", bot_id, "success"),
    ]
    assert created["client_secret"] not in str(await AuditEntry.select())
