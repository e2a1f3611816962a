"""Visits nobody closed (issue 17): check-in closes when the slot ends."""

from __future__ import annotations

import datetime as dt

from careconnect.tables.scheduling import Appointment
from tests.consult_helpers import visit
from tests.helpers import assert_problem


async def shift(appointment_id: str, starts_ago: dt.timedelta, minutes: int = 10) -> None:
    starts = dt.datetime.now(dt.UTC) - starts_ago
    await Appointment.update(
        {Appointment.starts_at: starts, Appointment.ends_at: starts + dt.timedelta(minutes=minutes)}
    ).where(Appointment.id == appointment_id)


async def test_check_in_after_the_slot_ended_is_refused(client):
    v = await visit(client)
    await shift(v["id"], dt.timedelta(minutes=35), minutes=30)  # ended 5 minutes ago
    refused = await client.post(f"/api/v1/consultations/{v['id']}/check-in", headers=v["patient_headers"])
    assert_problem(refused, 409, "invalid_state")
    assert (await client.get(f"/api/v1/appointments/{v['id']}", headers=v["patient_headers"])).json()[
        "status"
    ] == "booked"


async def test_check_in_late_but_within_the_slot_is_accepted(client):
    v = await visit(client)
    await shift(v["id"], dt.timedelta(minutes=25), minutes=30)  # ends in 5 minutes
    accepted = await client.post(f"/api/v1/consultations/{v['id']}/check-in", headers=v["patient_headers"])
    assert accepted.status_code == 200, accepted.text
