"""Booking through the API on SQLite and PostgreSQL: races, ownership, idempotency, states."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from tests.consult_helpers import INTAKE, book, next_slot, open_doctor, visit
from tests.helpers import assert_problem, bearer, login, register, signed_in


async def test_fifty_concurrent_bookings_one_winner(client):
    doctor, _ = await open_doctor(client)
    patients = []
    for _ in range(50):
        user = await register(client, "patient")
        patients.append(bearer((await login(client, user))["access_token"]))
    starts_at = await next_slot(client, doctor["id"], patients[0], skip=5)

    async def attempt(headers):
        return await client.post(
            "/api/v1/appointments",
            json={"doctor_id": doctor["id"], "starts_at": starts_at, "reason": "race"},
            headers=headers,
        )

    responses = await asyncio.gather(*(attempt(h) for h in patients))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 49, codes
    assert all(r.json()["code"] == "slot_taken" for r in responses if r.status_code == 409)
    # The slot is no longer offered.
    now = dt.datetime.now(dt.UTC)
    slots = await client.get(
        f"/api/v1/doctors/{doctor['id']}/slots",
        params={"from": now.isoformat(), "to": (now + dt.timedelta(days=2)).isoformat()},
        headers=patients[0],
    )
    assert starts_at not in {s["starts_at"] for s in slots.json()["slots"]}


async def test_booking_rules(client):
    doctor, doctor_headers = await open_doctor(client)
    _, p = await signed_in(client, "patient")
    starts_at = await next_slot(client, doctor["id"], p, skip=2)
    off_grid = (dt.datetime.fromisoformat(starts_at) + dt.timedelta(minutes=3)).isoformat()
    response = await client.post(
        "/api/v1/appointments", json={"doctor_id": doctor["id"], "starts_at": off_grid}, headers=p
    )
    assert_problem(response, 422, "validation_error")
    response = await client.post(
        "/api/v1/appointments", json={"doctor_id": doctor["id"], "starts_at": "2026-01-01T10:00:00"}, headers=p
    )
    assert_problem(response, 422, "validation_error")
    response = await client.post("/api/v1/appointments", json={"doctor_id": "nope", "starts_at": starts_at}, headers=p)
    assert_problem(response, 422, "validation_error")
    # Doctors don't book.
    response = await client.post(
        "/api/v1/appointments", json={"doctor_id": doctor["id"], "starts_at": starts_at}, headers=doctor_headers
    )
    assert_problem(response, 403, "forbidden")
    # Idempotent retry: same key, same body -> the same appointment; another body -> conflict.
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"doctor_id": doctor["id"], "starts_at": starts_at, "reason": "cough"}
    first = await client.post("/api/v1/appointments", json=body, headers={**p, **key})
    again = await client.post("/api/v1/appointments", json=body, headers={**p, **key})
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert again.json()["id"] == first.json()["id"]
    other = await client.post("/api/v1/appointments", json={**body, "reason": "different"}, headers={**p, **key})
    assert_problem(other, 409, "conflict")
    appointment = first.json()
    assert appointment["status"] == "booked" and appointment["intake_submitted"] is False
    assert appointment["doctor"]["specialty"] == "Cardiology"
    assert set(appointment) >= {"id", "patient", "doctor", "starts_at", "ends_at", "status", "reason", "created_at"}
    # A patient cannot hold two overlapping appointments (another doctor, same time).
    doctor2, _ = await open_doctor(client)
    clash = await client.post(
        "/api/v1/appointments", json={"doctor_id": doctor2["id"], "starts_at": starts_at}, headers=p
    )
    assert clash.status_code == 409


async def test_other_peoples_appointments_are_404(client):
    v = await visit(client)
    aid = v["id"]
    _, stranger = await signed_in(client, "patient")
    _, other_doctor = await signed_in(client, "doctor")
    for headers in (stranger, other_doctor):
        assert_problem(await client.get(f"/api/v1/appointments/{aid}", headers=headers), 404, "not_found")
        assert_problem(
            await client.post(f"/api/v1/appointments/{aid}/cancel", json={}, headers=headers), 404, "not_found"
        )
        assert_problem(await client.get(f"/api/v1/appointments/{aid}/calendar.ics", headers=headers), 404, "not_found")
    later = await next_slot(client, v["doctor"]["id"], stranger, skip=4)
    assert_problem(
        await client.post(f"/api/v1/appointments/{aid}/reschedule", json={"starts_at": later}, headers=stranger),
        404,
        "not_found",
    )
    # Intake: the patient writes; their doctor reads; another doctor gets 404.
    assert (
        await client.put(f"/api/v1/appointments/{aid}/intake", json=INTAKE, headers=v["patient_headers"])
    ).status_code == 200
    read = await client.get(f"/api/v1/appointments/{aid}/intake", headers=v["doctor_headers"])
    assert read.status_code == 200 and read.json()["allergies"] == []
    assert_problem(await client.get(f"/api/v1/appointments/{aid}/intake", headers=other_doctor), 404, "not_found")
    bad = {**INTAKE, "consent_to_treatment": False}
    assert_problem(
        await client.put(f"/api/v1/appointments/{aid}/intake", json=bad, headers=v["patient_headers"]),
        422,
        "validation_error",
    )
    too_many = {**INTAKE, "symptoms": ["x"] * 51}
    assert_problem(
        await client.put(f"/api/v1/appointments/{aid}/intake", json=too_many, headers=v["patient_headers"]),
        422,
        "validation_error",
    )
    assert_problem(await client.get("/api/v1/appointments/not-a-uuid", headers=stranger), 404, "not_found")


async def test_reschedule_is_atomic_and_cancel_frees_the_slot(client):
    doctor, _ = await open_doctor(client)
    _, p1 = await signed_in(client, "patient")
    _, p2 = await signed_in(client, "patient")
    mine = await book(client, doctor["id"], p1, skip=3)
    theirs = await book(client, doctor["id"], p2, skip=4)
    # Onto a taken slot: 409, and the original stays as it was.
    response = await client.post(
        f"/api/v1/appointments/{mine['id']}/reschedule", json={"starts_at": theirs["starts_at"]}, headers=p1
    )
    assert_problem(response, 409, "slot_taken")
    unchanged = (await client.get(f"/api/v1/appointments/{mine['id']}", headers=p1)).json()
    assert unchanged["starts_at"] == mine["starts_at"] and unchanged["status"] == "booked"
    # Onto a free slot: same appointment, new time; the old time is offered again.
    free = await next_slot(client, doctor["id"], p1, skip=6)
    moved = await client.post(f"/api/v1/appointments/{mine['id']}/reschedule", json={"starts_at": free}, headers=p1)
    assert moved.status_code == 200 and moved.json()["id"] == mine["id"]
    assert dt.datetime.fromisoformat(moved.json()["starts_at"]) == dt.datetime.fromisoformat(free)
    cancelled = await client.post(f"/api/v1/appointments/{theirs['id']}/cancel", json={"reason": "better"}, headers=p2)
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_reason"] == "better"
    again = await client.post(f"/api/v1/appointments/{theirs['id']}/cancel", json={}, headers=p2)
    assert_problem(again, 409, "invalid_state")
    rebook = await client.post(
        "/api/v1/appointments", json={"doctor_id": doctor["id"], "starts_at": theirs["starts_at"]}, headers=p1
    )
    assert rebook.status_code == 201


async def test_lists_calendar_and_directory(client):
    v = await visit(client)
    upcoming = await client.get("/api/v1/appointments", params={"scope": "upcoming"}, headers=v["patient_headers"])
    assert [a["id"] for a in upcoming.json()["items"]] == [v["id"]]
    doctors_view = await client.get("/api/v1/appointments", params={"scope": "upcoming"}, headers=v["doctor_headers"])
    assert [a["id"] for a in doctors_view.json()["items"]] == [v["id"]]
    past = await client.get("/api/v1/appointments", params={"scope": "past"}, headers=v["patient_headers"])
    assert past.json() == {"items": [], "next_cursor": None}
    ics = await client.get(f"/api/v1/appointments/{v['id']}/calendar.ics", headers=v["patient_headers"])
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text and f"UID:{v['id']}@careconnect" in ics.text
    found = await client.get(
        "/api/v1/doctors", params={"q": "doctor", "specialty": "cardiology"}, headers=v["patient_headers"]
    )
    cards = found.json()["items"]
    assert [c["id"] for c in cards] == [v["doctor"]["id"]]
    assert cards[0]["next_available_at"] is not None and cards[0]["languages"] == ["en", "fr"]
    assert (
        await client.get("/api/v1/doctors", params={"specialty": "dermatology"}, headers=v["patient_headers"])
    ).json()["items"] == []
    card = await client.get(f"/api/v1/doctors/{v['doctor']['id']}", headers=v["patient_headers"])
    assert card.json()["timezone"] == "UTC"
    too_long = await client.get(
        f"/api/v1/doctors/{v['doctor']['id']}/slots",
        params={"from": "2026-12-01T00:00:00Z", "to": "2027-01-15T00:00:00Z"},
        headers=v["patient_headers"],
    )
    assert_problem(too_long, 422, "validation_error")


async def test_availability_validation(client):
    _, d = await signed_in(client, "doctor")
    got = await client.get("/api/v1/doctors/me/availability", headers=d)
    assert got.status_code == 200 and got.json()["weekly"] == []
    bad = await client.put(
        "/api/v1/doctors/me/availability",
        json={"timezone": "Mars/Base", "slot_minutes": 5, "weekly": [{"weekday": 9, "start": "9am", "end": "17:00"}]},
        headers=d,
    )
    assert_problem(bad, 422, "validation_error")
    overlapping = await client.put(
        "/api/v1/doctors/me/availability",
        json={
            "timezone": "Europe/Paris",
            "slot_minutes": 30,
            "weekly": [
                {"weekday": 0, "start": "09:00", "end": "12:00"},
                {"weekday": 0, "start": "11:00", "end": "13:00"},
            ],
        },
        headers=d,
    )
    assert_problem(overlapping, 422, "validation_error")
    _, p = await signed_in(client, "patient")
    assert_problem(await client.get("/api/v1/doctors/me/availability", headers=p), 403, "forbidden")
