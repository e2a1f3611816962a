"""Booking through the API on SQLite and PostgreSQL: races, ownership, idempotency, states."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid

from icalendar import Calendar

from careconnect.realtime import HubEvents
from careconnect.tables.scheduling import Appointment
from tests.consult_helpers import INTAKE, book, next_slot, open_doctor, visit
from tests.helpers import admin, assert_problem, bearer, login, register, signed_in


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
    now = dt.datetime.now(dt.UTC)
    offered = await client.get(
        f"/api/v1/doctors/{doctor['id']}/slots",
        params={"from": now.isoformat(), "to": (now + dt.timedelta(days=2)).isoformat()},
        headers=p1,
    )
    offered_starts = {dt.datetime.fromisoformat(x["starts_at"]) for x in offered.json()["slots"]}
    assert dt.datetime.fromisoformat(mine["starts_at"]) in offered_starts
    assert dt.datetime.fromisoformat(free) not in offered_starts
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


def at(days: int = 2, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A slot of ``open_doctor`` (UTC, every 10 minutes, 30-day horizon) a few days ahead, whatever the clock says."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )


async def booked(client, doctor_id, headers, when: dt.datetime, reason: str = "Checkup") -> dict:
    response = await client.post(
        "/api/v1/appointments",
        json={"doctor_id": doctor_id, "starts_at": when.isoformat(), "reason": reason},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def past_row(patient_id: str, doctor_id: str, days_ago: int, status: str) -> str:
    """An appointment in the past, written to the table (the API cannot book the past)."""
    starts = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=days_ago)
    row_id = str(uuid.uuid4())
    await Appointment(
        id=row_id,
        patient=patient_id,
        doctor=doctor_id,
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=10),
        status=status,
        reason="old",
        created_at=starts - dt.timedelta(days=1),
    ).save()
    return row_id


class Recorder:
    """Records what the handlers announce through the app's ``events`` dependency (its HubEvents)."""

    def __init__(self, monkeypatch) -> None:
        self.sent: list[tuple[str, str, list[str]]] = []
        monkeypatch.setattr(HubEvents, "appointment_changed", self.appointment_changed)
        monkeypatch.setattr(HubEvents, "room_state_changed", self.room_state_changed)

    async def appointment_changed(self, appointment, user_ids):
        self.sent.append((appointment.id, appointment.status, sorted(user_ids)))

    async def room_state_changed(self, appointment_id, state):
        return None


async def test_appointment_shape_and_the_event_seam(client, monkeypatch):
    recorder = Recorder(monkeypatch)
    doctor, d = await open_doctor(client, full_name="Dr Who")
    patient, p = await signed_in(client, "patient", full_name="Pat Ient")
    made = await booked(client, doctor["id"], p, at(), reason="  Rash  ")
    assert set(made) == {
        "id",
        "patient",
        "doctor",
        "starts_at",
        "ends_at",
        "status",
        "reason",
        "created_at",
        "intake_submitted",
    }
    assert made["patient"] == {"id": patient["id"], "full_name": "Pat Ient"}
    assert made["doctor"] == {"id": doctor["id"], "full_name": "Dr Who", "specialty": "Cardiology"}
    assert dt.datetime.fromisoformat(made["starts_at"]) == at() and made["starts_at"].endswith("Z")
    assert dt.datetime.fromisoformat(made["ends_at"]) == at() + dt.timedelta(minutes=10)
    assert (made["status"], made["reason"], made["intake_submitted"]) == ("booked", "Rash", False)
    pair = sorted([patient["id"], doctor["id"]])
    moved = await client.post(
        f"/api/v1/appointments/{made['id']}/reschedule", json={"starts_at": at(hour=11).isoformat()}, headers=p
    )
    assert moved.status_code == 200
    cancelled = await client.post(f"/api/v1/appointments/{made['id']}/cancel", json={"reason": "away"}, headers=d)
    assert cancelled.json()["cancelled_reason"] == "away" and cancelled.json()["status"] == "cancelled"
    assert recorder.sent == [
        (made["id"], "booked", pair),
        (made["id"], "booked", pair),
        (made["id"], "cancelled", pair),
    ]
    # A refused request pushes nothing.
    await client.post(f"/api/v1/appointments/{made['id']}/cancel", json={}, headers=p)
    assert len(recorder.sent) == 3


async def test_concurrent_retries_with_one_idempotency_key(client):
    doctor, _ = await open_doctor(client)
    _, p = await signed_in(client, "patient")
    headers = {**p, "Idempotency-Key": "retry-" + uuid.uuid4().hex}
    body = {"doctor_id": doctor["id"], "starts_at": at().isoformat(), "reason": "flu"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/appointments", json=body, headers=headers) for _ in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert all(r.json() == responses[0].json() for r in responses)
    mine = await client.get("/api/v1/appointments", headers=p)
    assert len(mine.json()["items"]) == 1
    too_long = await client.post("/api/v1/appointments", json=body, headers={**p, "Idempotency-Key": "k" * 201})
    assert_problem(too_long, 422, "validation_error")


async def test_lists_are_own_only_ordered_paged_and_filtered(client):
    doctor, d = await open_doctor(client)
    patient, p = await signed_in(client, "patient")
    _, other = await signed_in(client, "patient")
    upcoming = [await booked(client, doctor["id"], p, at(days=n)) for n in (5, 2, 3, 4, 1)]
    await booked(client, doctor["id"], other, at(days=1, hour=12))
    for days_ago, status in ((3, "completed"), (1, "no_show"), (2, "completed")):
        await past_row(patient["id"], doctor["id"], days_ago, status)
    cancel_me = upcoming[3]
    await client.post(f"/api/v1/appointments/{cancel_me['id']}/cancel", json={}, headers=p)

    async def walk(headers, **params):
        items, cursor = [], None
        while True:
            query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            response = await client.get("/api/v1/appointments", params=query, headers=headers)
            assert response.status_code == 200, response.text
            items += response.json()["items"]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return items

    ahead = await walk(p, scope="upcoming")
    starts = [a["starts_at"] for a in ahead]
    assert len(ahead) == 4 and starts == sorted(starts)
    assert cancel_me["id"] not in {a["id"] for a in ahead}
    past = await walk(p, scope="past")
    past_starts = [dt.datetime.fromisoformat(a["starts_at"]) for a in past]
    assert past_starts[1:] == sorted(past_starts[1:], reverse=True)  # the cancelled future one leads
    assert [a["status"] for a in past] == ["cancelled", "no_show", "completed", "completed"]
    assert [a["status"] for a in await walk(p, scope="past", status="completed")] == ["completed"] * 2
    # The doctor sees every patient's; the other patient only their own.
    assert len(await walk(d, scope="upcoming")) == 5
    assert len(await walk(other, scope="upcoming")) == 1
    assert_problem(
        await client.get("/api/v1/appointments", params={"status": "lost"}, headers=p), 422, "validation_error"
    )
    assert_problem(
        await client.get("/api/v1/appointments", params={"scope": "soon"}, headers=p), 422, "validation_error"
    )
    assert_problem(
        await client.get("/api/v1/appointments", params={"cursor": "Zm9v"}, headers=p), 422, "validation_error"
    )
    forged = base64.urlsafe_b64encode(b'["not a time", "x"]').decode()
    assert_problem(
        await client.get("/api/v1/appointments", params={"cursor": forged}, headers=p), 422, "validation_error"
    )
    _, a = await admin(client)
    assert (await client.get("/api/v1/appointments", headers=a)).json() == {"items": [], "next_cursor": None}


async def test_cancel_and_reschedule_rules(client):
    doctor, d = await open_doctor(client)
    other_doctor, _ = await open_doctor(client)
    patient, p = await signed_in(client, "patient")
    visit = await booked(client, doctor["id"], p, at(hour=9))
    elsewhere = await booked(client, other_doctor["id"], p, at(hour=15))
    url = f"/api/v1/appointments/{visit['id']}"
    # Doctors cancel but do not reschedule.
    assert_problem(
        await client.post(f"{url}/reschedule", json={"starts_at": at(hour=12).isoformat()}, headers=d), 403, "forbidden"
    )
    # Off the grid, or outside the doctor's hours: 422; the visit is unchanged.
    for bad in (at(hour=12, minute=5), at(days=40)):
        assert_problem(
            await client.post(f"{url}/reschedule", json={"starts_at": bad.isoformat()}, headers=p),
            422,
            "validation_error",
        )
    # Onto a time when the patient is with another doctor: 409 conflict.
    clash = await client.post(f"{url}/reschedule", json={"starts_at": at(hour=15).isoformat()}, headers=p)
    assert_problem(clash, 409, "conflict")
    assert (await client.get(url, headers=p)).json()["starts_at"] == visit["starts_at"]
    # A cancel with a long reason is refused; a cancel by the doctor works, and then nothing more can change.
    assert_problem(await client.post(f"{url}/cancel", json={"reason": "x" * 1001}, headers=d), 422, "validation_error")
    assert (await client.post(f"{url}/cancel", headers=d)).json()["status"] == "cancelled"
    assert_problem(
        await client.post(f"{url}/reschedule", json={"starts_at": at(hour=12).isoformat()}, headers=p),
        409,
        "invalid_state",
    )
    assert_problem(await client.post(f"{url}/cancel", json={}, headers=p), 409, "invalid_state")
    # Once it has started, it can be neither cancelled nor moved.
    started = await past_row(patient["id"], other_doctor["id"], 0, "booked")
    assert_problem(
        await client.post(f"/api/v1/appointments/{started}/cancel", json={}, headers=p), 409, "invalid_state"
    )
    assert_problem(
        await client.post(
            f"/api/v1/appointments/{started}/reschedule", json={"starts_at": at(hour=12).isoformat()}, headers=p
        ),
        409,
        "invalid_state",
    )
    assert (await client.get(f"/api/v1/appointments/{elsewhere['id']}", headers=p)).json()["status"] == "booked"


async def test_calendar_file_is_a_valid_vevent(client):
    doctor, _ = await open_doctor(client, full_name="Dr Cal")
    _, p = await signed_in(client, "patient")
    made = await booked(client, doctor["id"], p, at(), reason="Follow-up")
    response = await client.get(f"/api/v1/appointments/{made['id']}/calendar.ics", headers=p)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == at() and event.decoded("dtend") == at() + dt.timedelta(minutes=10)
    assert str(event["uid"]) == f"{made['id']}@careconnect"
    assert str(event["status"]) == "CONFIRMED" and "Dr Cal" in str(event["summary"])
    await client.post(f"/api/v1/appointments/{made['id']}/cancel", json={}, headers=p)
    again = Calendar.from_ical((await client.get(f"/api/v1/appointments/{made['id']}/calendar.ics", headers=p)).content)
    assert str(again.walk("VEVENT")[0]["status"]) == "CANCELLED"
