"""GET /consultations/{id}/queue: a checked-in patient's place in the doctor's queue."""

from __future__ import annotations

from careconnect.tables.scheduling import Appointment
from tests.consult_helpers import book, open_doctor
from tests.helpers import assert_problem, signed_in


async def _queue(client, cid, headers):
    response = await client.get(f"/api/v1/consultations/{cid}/queue", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_places_follow_the_booked_start_and_the_doctor_being_busy(client):
    doctor, d = await open_doctor(client)
    _, p1 = await signed_in(client, "patient")
    _, p2 = await signed_in(client, "patient")
    _, p3 = await signed_in(client, "patient")
    first = await book(client, doctor["id"], p1, skip=0)
    second = await book(client, doctor["id"], p2, skip=1)
    third = await book(client, doctor["id"], p3, skip=2)

    # Booked, not waiting: no place yet.
    assert await _queue(client, first["id"], p1) == {
        "status": "booked",
        "position": None,
        "waiting": 0,
        "doctor_busy": False,
    }
    # The later visits are checked in first (straight in the table: check-in opens 15 minutes
    # before a start, later than these slots), yet the earliest booking goes first.
    for later in (second, third):
        await Appointment.update({Appointment.status: "checked_in"}).where(Appointment.id == later["id"])
    assert (await client.post(f"/api/v1/consultations/{first['id']}/check-in", headers=p1)).status_code == 200
    q1 = await _queue(client, first["id"], p1)
    q2 = await _queue(client, second["id"], p2)
    q3 = await _queue(client, third["id"], p3)
    assert (q1["position"], q2["position"], q3["position"]) == (1, 2, 3)
    assert q1["waiting"] == q2["waiting"] == 3
    # The doctor reads the same place.
    assert (await _queue(client, second["id"], d))["position"] == 2

    # Admitting the first: the second is next, and the doctor is busy with someone else.
    assert (await client.post(f"/api/v1/consultations/{first['id']}/start", headers=d)).status_code == 200
    q2 = await _queue(client, second["id"], p2)
    assert q2["position"] == 1 and q2["doctor_busy"] is True
    in_visit = await _queue(client, first["id"], p1)
    assert in_visit["status"] == "in_progress" and in_visit["position"] is None and in_visit["doctor_busy"] is False


async def test_only_members_see_the_queue_and_bad_ids_are_404(client):
    doctor, d = await open_doctor(client)
    _, p = await signed_in(client, "patient")
    _, stranger = await signed_in(client, "patient")
    visit = await book(client, doctor["id"], p)
    assert_problem(await client.get(f"/api/v1/consultations/{visit['id']}/queue", headers=stranger), 404, "not_found")
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "x" * 500):
        assert_problem(await client.get(f"/api/v1/consultations/{bad}/queue", headers=p), 404, "not_found")
    # A NUL in the path is refused before any handler (400, never a 500).
    assert_problem(await client.get("/api/v1/consultations/%00/queue", headers=p), 400, "bad_request")
    anonymous = await client.get(f"/api/v1/consultations/{visit['id']}/queue")
    assert anonymous.status_code == 401
