"""No input gets a 500 (API.md 1.1 "Hardening"): NUL characters, deep nesting, numbers and dates
out of range, and cursors of the wrong shape get 4xx problem details, and change nothing."""

from __future__ import annotations

import base64
import json

import pytest

from tests.consult_helpers import INTAKE, visit
from tests.helpers import PASSWORD, admin, assert_problem, email

NUL = "before\x00after"
DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


def cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.fixture
async def people(client):
    v = await visit(client)
    _, v["admin_headers"] = await admin(client)
    return v


async def test_a_nul_in_any_string_field_is_422_never_500(client, people):
    v = people
    aid, d, p, a = v["id"], v["doctor_headers"], v["patient_headers"], v["admin_headers"]
    doctor_body = {"specialty": "Cardiology", "bio": NUL}
    cases = [
        (
            "POST",
            "/api/v1/auth/register",
            {},
            {"email": email(), "password": PASSWORD, "full_name": NUL, "role": "patient"},
        ),
        (
            "POST",
            "/api/v1/auth/register",
            {},
            {"email": "a\x00b@x.com", "password": PASSWORD, "full_name": "A", "role": "patient"},
        ),
        (
            "POST",
            "/api/v1/auth/register",
            {},
            {"email": email(), "password": PASSWORD, "full_name": "D", "role": "doctor", "doctor": doctor_body},
        ),
        ("POST", "/api/v1/auth/login", {}, {"email": f"{NUL}@example.com", "password": PASSWORD}),
        (
            "POST",
            "/api/v1/auth/token",
            {},
            {"grant_type": "client_credentials", "client_id": NUL, "client_secret": NUL},
        ),
        ("PATCH", "/api/v1/users/me", p, {"full_name": NUL}),
        ("PATCH", "/api/v1/users/me", p, {"timezone": NUL}),
        ("PATCH", "/api/v1/users/me", d, {"doctor": {"bio": NUL}}),
        ("POST", "/api/v1/users/me/password", p, {"current_password": PASSWORD, "new_password": NUL * 2}),
        ("PUT", f"/api/v1/appointments/{aid}/intake", p, {**INTAKE, "chief_complaint": NUL}),
        ("PUT", f"/api/v1/appointments/{aid}/intake", p, {**INTAKE, "medications": [NUL]}),
        ("POST", f"/api/v1/appointments/{aid}/cancel", p, {"reason": NUL}),
        ("PUT", f"/api/v1/consultations/{aid}/notes", d, {"text": NUL, "version": 0}),
        ("PUT", f"/api/v1/consultations/{aid}/summary", d, {"text": NUL, "version": 0}),
        ("POST", f"/api/v1/consultations/{aid}/participants", d, {"client_id": NUL}),
        ("POST", "/api/v1/admin/integrations", a, {"name": NUL}),
    ]
    for method, path, headers, body in cases:
        response = await client.request(method, path, json=body, headers=headers)
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"], (method, path)
    booking = {"doctor_id": v["doctor"]["id"], "starts_at": v["appointment"]["starts_at"], "reason": "x"}
    keyed = await client.post("/api/v1/appointments", json=booking, headers={**p, "Idempotency-Key": NUL})
    assert_problem(keyed, 422, "validation_error")
    for params in ({"q": NUL}, {"specialty": NUL}):
        assert_problem(await client.get("/api/v1/doctors", params=params, headers=p), 422, "validation_error")
    assert_problem(await client.get("/api/v1/admin/audit", params={"action": NUL}, headers=a), 422, "validation_error")
    # Refused requests changed nothing.
    me = (await client.get("/api/v1/users/me", headers=p)).json()
    assert me["full_name"] == v["patient"]["full_name"] and me["timezone"] == "America/New_York"
    assert (await client.get(f"/api/v1/consultations/{aid}/notes", headers=d)).json()["version"] == 0
    assert (await client.get(f"/api/v1/appointments/{aid}", headers=p)).json()["status"] == "booked"


async def test_a_nul_in_the_path_is_400(client, people):
    for path in ("/%00", "/login%00", "/api/v1/consultations/%00/messages", f"/api/v1/appointments/{people['id']}%00"):
        assert_problem(await client.get(path, headers=people["patient_headers"]), 400, "bad_request")


async def test_deeply_nested_bodies_are_400(client, people):
    p, d = people["patient_headers"], people["doctor_headers"]
    targets = [
        ("POST", "/api/v1/auth/register", {}),
        ("POST", "/api/v1/auth/login", {}),
        ("PATCH", "/api/v1/users/me", p),
        ("PUT", f"/api/v1/appointments/{people['id']}/intake", p),
        ("PUT", f"/api/v1/consultations/{people['id']}/notes", d),
        ("PUT", "/api/v1/doctors/me/availability", d),
    ]
    for method, path, headers in targets:
        for body in (DEEP_ARRAY, DEEP_OBJECT, '{"full_name":' + DEEP_ARRAY + "}"):
            response = await client.request(
                method, path, content=body.encode(), headers={**headers, "content-type": "application/json"}
            )
            assert_problem(response, 400, "bad_request")


async def test_far_dates_are_422(client, people):
    p, a, doctor = people["patient_headers"], people["admin_headers"], people["doctor"]["id"]
    slots = f"/api/v1/doctors/{doctor}/slots"
    for params in (
        {"from": "9999-12-30T00:00:00Z"},  # plus the default week: past datetime's end
        {"to": "9999-12-31T23:59:59-14:00"},
        {"from": "0001-01-01T00:00:00+14:00"},
        {"from": "0001-01-01T00:00:00Z", "to": "0001-01-20T00:00:00Z"},
    ):
        assert_problem(await client.get(slots, params=params, headers=p), 422, "validation_error")
    for since in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        assert_problem(
            await client.get("/api/v1/admin/audit", params={"since": since}, headers=a), 422, "validation_error"
        )
    for starts_at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:50:00Z"):
        booking = {"doctor_id": doctor, "starts_at": starts_at, "reason": "x"}
        assert_problem(await client.post("/api/v1/appointments", json=booking, headers=p), 422, "validation_error")
        assert_problem(
            await client.post(
                f"/api/v1/appointments/{people['id']}/reschedule", json={"starts_at": starts_at}, headers=p
            ),
            422,
            "validation_error",
        )
    assert (await client.get(slots, params={"from": "2999-12-01T00:00:00Z"}, headers=p)).json()["slots"] == []


async def test_huge_and_negative_numbers_are_422(client, people):
    p, d, a = people["patient_headers"], people["doctor_headers"], people["admin_headers"]
    messages = f"/api/v1/consultations/{people['id']}/messages"
    for params in (
        {"after_seq": 2**63},
        {"after_seq": 2**70},
        {"after_seq": -1},
        {"before_seq": 2**64},
        {"before_seq": -5},
        {"limit": 2**70},
        {"limit": -1},
    ):
        assert_problem(await client.get(messages, params=params, headers=p), 422, "validation_error")
    for params in ({"after_seq": 2**53}, {"after_seq": 2**31}, {"before_seq": 2**53}, {"before_seq": 2**31}):
        assert (await client.get(messages, params=params, headers=p)).json()["items"] == []
    for path, headers in (
        ("/api/v1/appointments", p),
        ("/api/v1/doctors", p),
        ("/api/v1/admin/users", a),
        ("/api/v1/admin/audit", a),
    ):
        for limit in (2**63, 2**70, -1):
            assert_problem(await client.get(path, params={"limit": limit}, headers=headers), 422, "validation_error")
    notes = f"/api/v1/consultations/{people['id']}/notes"
    for version in (2**63, 2**70, -1):
        assert_problem(
            await client.put(notes, json={"text": "x", "version": version}, headers=d), 422, "validation_error"
        )
    for if_match in (str(2**70), '"99999999999999999999"', "²".encode()):
        assert_problem(
            await client.put(notes, json={"text": "x"}, headers={**d, "If-Match": if_match}), 422, "validation_error"
        )
    # Beyond the version column (INTEGER) but within 2^53: no stored version is that, so the edit is stale
    # (409 with the current version), never a 500 from PostgreSQL's int32 (the fuzzer found it).
    for version in (2**31 - 1, 2**31, 2**40, 2**53):
        stale = await client.put(notes, json={"text": "x", "version": version}, headers=d)
        assert assert_problem(stale, 409, "conflict")["current_version"] == 0
        stale = await client.put(notes, json={"text": "x"}, headers={**d, "If-Match": f'"{version}"'})
        assert_problem(stale, 409, "conflict")


async def test_cursors_of_the_wrong_shape_are_422(client, people):
    p, a = people["patient_headers"], people["admin_headers"]
    zero = "00000000-0000-0000-0000-000000000000"
    wrong_for_all = [
        cursor(1, 2),
        cursor("x", "y"),
        cursor(None, None),
        cursor([], {}),
        cursor("2026-01-01T00:00:00+00:00", "not-a-uuid"),
        cursor("2026-01-01T00:00:00+00:00", "a\x00"),
        cursor("a\x00", zero),
        cursor("2026-01-01T00:00:00+00:00", zero, "extra"),
        "garbage!",
        "%00",
    ]
    wrong_for_time = [  # (a doctor's name could be any text: these are fine doctor cursors)
        cursor("2026-01-01T00:00:00", zero),  # no zone
        cursor("9999-12-31T23:59:59-14:00", zero),
        cursor("Ada Lovelace", zero),
    ]
    lists = [("/api/v1/admin/users", a), ("/api/v1/admin/audit", a), ("/api/v1/appointments", p)]
    for value in wrong_for_all + wrong_for_time:
        for path, headers in lists:
            assert_problem(await client.get(path, params={"cursor": value}, headers=headers), 422, "validation_error")
    for value in wrong_for_all:
        response = await client.get("/api/v1/doctors", params={"cursor": value}, headers=p)
        assert_problem(response, 422, "validation_error")
