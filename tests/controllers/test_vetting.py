"""Issue 15, doctor vetting under DOCTOR_REGISTRATION=review, and the audit of every admin action.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from careconnect.domain.accounts.schemas import DoctorInfo
from careconnect.domain.accounts.users import create_user, user_out
from tests.conftest import app_client, make_settings
from tests.consult_helpers import ALL_DAY, book, next_slot
from tests.helpers import PASSWORD, admin, assert_problem, email, login, signed_in

HOURS = {
    "timezone": "UTC",
    "slot_minutes": 10,
    "min_notice_minutes": 0,
    "horizon_days": 30,
    "weekly": ALL_DAY,
    "exceptions": [],
}


@pytest.fixture
def settings(database_url):
    return make_settings(database_url, doctor_registration="review")


async def pending_doctor(client, name="Dr Pending"):
    doctor, headers = await signed_in(
        client, "doctor", full_name=name, doctor={"specialty": "Neurology", "license_number": "LIC-77"}
    )
    return doctor, headers


async def audit(client, headers, **params):
    response = await client.get("/api/v1/admin/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_self_registered_doctor_waits_for_review(client):
    doctor, d = await pending_doctor(client)
    assert doctor["doctor"]["verification"] == "pending"
    # They can sign in, see their status, set availability and see their own card.
    me = (await client.get("/api/v1/users/me", headers=d)).json()
    assert me["doctor"]["verification"] == "pending"
    assert (await client.put("/api/v1/doctors/me/availability", json=HOURS, headers=d)).status_code == 200
    assert (await client.get(f"/api/v1/doctors/{doctor['id']}", headers=d)).status_code == 200
    # Nobody else finds, sees or books them.
    _, p = await signed_in(client, "patient")
    listed = await client.get("/api/v1/doctors", params={"q": "Pending"}, headers=p)
    assert listed.json()["items"] == []
    assert_problem(await client.get(f"/api/v1/doctors/{doctor['id']}", headers=p), 404, "not_found")
    assert_problem(await client.get(f"/api/v1/doctors/{doctor['id']}/slots", headers=p), 404, "not_found")
    own_slot = await next_slot(client, doctor["id"], d)
    refused = await client.post(
        "/api/v1/appointments", json={"doctor_id": doctor["id"], "starts_at": own_slot}, headers=p
    )
    assert_problem(refused, 422, "validation_error")

    # The admin's review queue lists them (oldest first), with what a reviewer needs.
    _, a = await admin(client)
    queue = await client.get("/api/v1/admin/doctors", params={"verification": "pending"}, headers=a)
    assert queue.status_code == 200, queue.text
    [item] = queue.json()["items"]
    assert queue.json()["next_cursor"] is None
    assert item["id"] == doctor["id"] and item["email"] == doctor["email"] and item["created_at"]
    assert item["doctor"]["specialty"] == "Neurology" and item["doctor"]["license_number"] == "LIC-77"

    approved = await client.post(f"/api/v1/admin/doctors/{doctor['id']}/approve", headers=a)
    assert approved.status_code == 200, approved.text
    assert approved.json()["doctor"]["verification"] == "approved"
    assert (await client.get("/api/v1/admin/doctors", params={"verification": "pending"}, headers=a)).json()[
        "items"
    ] == []
    # Now listed and bookable.
    listed = await client.get("/api/v1/doctors", params={"q": "Pending"}, headers=p)
    assert [c["id"] for c in listed.json()["items"]] == [doctor["id"]]
    appointment = await book(client, doctor["id"], p)
    assert appointment["doctor"]["id"] == doctor["id"]

    [entry] = await audit(client, a, action="doctor.approve")
    assert entry["resource_type"] == "user" and entry["resource_id"] == doctor["id"]
    assert entry["outcome"] == "success" and entry["ip"] == "127.0.0.1" and entry["request_id"]


async def test_a_rejected_doctor_stays_out_and_loses_patient_data(client):
    _, a = await admin(client)
    doctor, d = await pending_doctor(client, "Dr Later Rejected")
    assert (await client.post(f"/api/v1/admin/doctors/{doctor['id']}/approve", headers=a)).status_code == 200
    assert (await client.put("/api/v1/doctors/me/availability", json=HOURS, headers=d)).status_code == 200
    patient, p = await signed_in(client, "patient")
    appointment = await book(client, doctor["id"], p)
    assert (await client.get(f"/api/v1/patients/{patient['id']}/history", headers=d)).status_code == 200

    rejected = await client.post(f"/api/v1/admin/doctors/{doctor['id']}/reject", headers=a)
    assert rejected.status_code == 200 and rejected.json()["doctor"]["verification"] == "rejected"
    assert (await client.get("/api/v1/users/me", headers=d)).json()["doctor"]["verification"] == "rejected"
    # No patient data of any kind any more.
    assert_problem(await client.get(f"/api/v1/patients/{patient['id']}/history", headers=d), 404, "not_found")
    assert (await client.get("/api/v1/appointments", headers=d)).json()["items"] == []
    assert_problem(await client.get(f"/api/v1/appointments/{appointment['id']}", headers=d), 404, "not_found")
    assert_problem(await client.get(f"/api/v1/consultations/{appointment['id']}/notes", headers=d), 404, "not_found")
    # Not listed, not bookable; the patient still has their appointment.
    assert (await client.get("/api/v1/doctors", params={"q": "Rejected"}, headers=p)).json()["items"] == []
    assert (await client.get(f"/api/v1/appointments/{appointment['id']}", headers=p)).status_code == 200
    rejected_list = await client.get("/api/v1/admin/doctors", params={"verification": "rejected"}, headers=a)
    assert [u["id"] for u in rejected_list.json()["items"]] == [doctor["id"]]


async def test_doctors_made_by_an_admin_or_the_seed_are_approved(client):
    row = await create_user(
        email=email("made"), password=PASSWORD, full_name="Dr Made", role="doctor", doctor=DoctorInfo(specialty="GP")
    )
    assert (await user_out(row)).doctor.verification == "approved"  # type: ignore[union-attr]
    _, p = await signed_in(client, "patient")
    listed = await client.get("/api/v1/doctors", params={"q": "Made"}, headers=p)
    assert [c["id"] for c in listed.json()["items"]] == [str(row["id"])]


async def test_the_review_queue_pages_and_refuses_bad_input(client):
    _, a = await admin(client)
    made = [(await pending_doctor(client, f"Dr Queue {i}"))[0]["id"] for i in range(3)]
    first = (
        await client.get("/api/v1/admin/doctors", params={"verification": "pending", "limit": 2}, headers=a)
    ).json()
    second = (
        await client.get(
            "/api/v1/admin/doctors",
            params={"verification": "pending", "limit": 2, "cursor": first["next_cursor"]},
            headers=a,
        )
    ).json()
    assert [u["id"] for u in first["items"] + second["items"]] == made and second["next_cursor"] is None
    for params in ({"verification": "maybe"}, {"cursor": "garbage!"}, {"limit": 0}):
        response = await client.get("/api/v1/admin/doctors", params=params, headers=a)
        assert response.status_code in (400, 422), (params, response.text)
    _, p = await signed_in(client, "patient")
    assert_problem(await client.get("/api/v1/admin/doctors", headers=p), 403, "forbidden")
    assert_problem(await client.post(f"/api/v1/admin/doctors/{made[0]}/approve", headers=p), 403, "forbidden")


async def test_every_admin_write_is_audited_with_its_outcome(client):
    admin_user, a = await admin(client)
    patient, _ = await signed_in(client, "patient")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_problem(await client.post(f"/api/v1/admin/doctors/{missing}/approve", headers=a), 404, "not_found")
    assert_problem(await client.post(f"/api/v1/admin/doctors/{patient['id']}/reject", headers=a), 404, "not_found")
    assert_problem(await client.post(f"/api/v1/admin/users/{admin_user['id']}/disable", headers=a), 409, "conflict")
    assert (await client.post(f"/api/v1/admin/users/{patient['id']}/disable", headers=a)).status_code == 200
    created = await client.post("/api/v1/admin/integrations", json={"name": "Scribe"}, headers=a)
    assert created.status_code == 201
    entries = await audit(client, a, actor_id=admin_user["id"])
    # (The admin's own sign-in is an audit entry of its own: auth.login.)
    seen = [(e["action"], e["resource_id"], e["outcome"]) for e in reversed(entries) if e["action"] != "auth.login"]
    assert seen == [
        ("doctor.approve", missing, "not_found"),
        ("doctor.reject", patient["id"], "not_found"),
        ("user.disable", admin_user["id"], "conflict"),
        ("user.disable", patient["id"], "success"),
        ("integration.create", created.json()["client_id"], "success"),
    ]
    for entry in entries:
        assert entry["actor"] == {"id": admin_user["id"], "role": "admin"}
        assert entry["ip"] == "127.0.0.1" and entry["request_id"]


async def test_closed_registration_and_the_old_setting(client, settings):
    body = {"email": email(), "password": PASSWORD, "full_name": "D", "role": "doctor", "doctor": {"specialty": "GP"}}
    for overrides in ({"doctor_registration": "closed"}, {"doctor_self_registration": False}):
        async with app_client(make_settings(settings.database_url, **overrides)) as other:
            assert_problem(await other.post("/api/v1/auth/register", json=body), 403, "forbidden")
    async with app_client(make_settings(settings.database_url, doctor_registration="open")) as other:
        response = await other.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201 and response.json()["doctor"]["verification"] == "approved"
        # Patients are unaffected by any of it.
        patient = await other.post(
            "/api/v1/auth/register", json={**body, "email": email(), "role": "patient", "doctor": None}
        )
        assert patient.status_code == 201 and patient.json()["patient"] == {"share_history": False}
    tokens = await login(client, {"email": body["email"], "password": PASSWORD})
    assert tokens["user"]["doctor"]["verification"] == "approved"
