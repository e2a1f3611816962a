"""Booking rules against the real databases: what the constraints refuse, and how we name it."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from careconnect.domain.errors import Conflict, DomainError
from careconnect.domain.scheduling import booking
from careconnect.domain.scheduling.availability import free_slots, save_rules, violated_constraint
from careconnect.domain.scheduling.schemas import AvailabilityRules, WeeklyHours
from careconnect.errors import status_of as http_status
from careconnect.tables.scheduling import Appointment
from tests.helpers import register

UTC = dt.UTC
ALL_DAY = [WeeklyHours(weekday=d, start="00:00", end="23:50") for d in range(7)]


def at_ten(days: int = 2) -> dt.datetime:
    """10:00 UTC a few days ahead: on every grid below, inside notice and horizon, whatever the clock says."""
    return (dt.datetime.now(UTC) + dt.timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)


async def doctor_with(client, slot_minutes: int = 30) -> str:
    doctor = await register(client, "doctor")
    await save_rules(
        doctor["id"],
        AvailabilityRules(
            timezone="UTC", slot_minutes=slot_minutes, min_notice_minutes=0, horizon_days=30, weekly=ALL_DAY
        ),
    )
    return str(doctor["id"])


async def patient(client) -> str:
    return str((await register(client, "patient"))["id"])


def row(patient_id: str, doctor_id: str, starts: dt.datetime, minutes: int = 30, status: str = "booked") -> Appointment:
    return Appointment(
        id=str(uuid.uuid4()),
        patient=patient_id,
        doctor=doctor_id,
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=minutes),
        status=status,
        reason="",
        created_at=dt.datetime.now(UTC),
    )


async def refused(write) -> str | None:
    try:
        await write
    except Exception as exc:  # noqa: BLE001 - we want to see exactly what the driver raised
        return violated_constraint(exc) or f"unrecognised {type(exc).__name__}: {exc}"
    return None


async def test_the_database_refuses_a_second_live_booking_of_a_slot(client):
    doctor = await doctor_with(client)
    first, second = await patient(client), await patient(client)
    await row(first, doctor, at_ten()).save()
    # Written straight to the table, past every check in Python: the index still says no.
    assert await refused(Appointment.insert(row(second, doctor, at_ten()))) == "doctor_slot"
    # A cancelled appointment does not hold its slot.
    await Appointment.update({Appointment.status: "cancelled"}).where(Appointment.patient == first)
    assert await refused(Appointment.insert(row(second, doctor, at_ten()))) is None


# PostgreSQL only: SQLite has no exclusion constraints; there BEGIN IMMEDIATE serialises the checks.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_overlaps_on_postgres_are_refused_by_exclusion_constraints(client, database_url):
    assert database_url.startswith("postgres")
    doctor, other_doctor = await doctor_with(client), await doctor_with(client)
    first, second = await patient(client), await patient(client)
    await row(first, doctor, at_ten(), minutes=60).save()
    # The doctor: another start inside the hour.
    assert await refused(Appointment.insert(row(second, doctor, at_ten() + dt.timedelta(minutes=30)))) == "doctor_slot"
    # The patient: another doctor, overlapping time.
    clash = row(first, other_doctor, at_ten() + dt.timedelta(minutes=30))
    assert await refused(Appointment.insert(clash)) == "patient_overlap"


async def test_a_grid_change_never_double_books_the_doctor(client):
    doctor = await doctor_with(client, slot_minutes=30)
    someone = await patient(client)
    held, _ = await booking.book(someone, doctor, at_ten() + dt.timedelta(minutes=30), "")  # 10:30-11:00
    # Slots become an hour long: 10:00-11:00 would overlap the 10:30 booking.
    await save_rules(
        doctor,
        AvailabilityRules(timezone="UTC", slot_minutes=60, min_notice_minutes=0, horizon_days=30, weekly=ALL_DAY),
    )
    _, found = await free_slots(doctor, at_ten() - dt.timedelta(hours=1), at_ten() + dt.timedelta(hours=3))
    assert [s for s, _ in found] == [
        at_ten() - dt.timedelta(hours=1),
        at_ten() + dt.timedelta(hours=1),
        at_ten() + dt.timedelta(hours=2),
    ]
    with pytest.raises(Conflict) as caught:
        await booking.book(await patient(client), doctor, at_ten(), "")
    assert caught.value.code == "slot_taken" and http_status(caught.value) == 409
    # The existing booking was not touched by the change.
    still = await Appointment.select(Appointment.status, Appointment.starts_at).where(Appointment.id == held.id).first()
    assert still["status"] == "booked" and still["starts_at"] == at_ten() + dt.timedelta(minutes=30)


async def test_concurrent_retries_with_one_key_make_one_appointment(client):
    doctor = await doctor_with(client)
    someone = await patient(client)
    key = uuid.uuid4().hex
    results = await asyncio.gather(*(booking.book(someone, doctor, at_ten(), "cough", key) for _ in range(10)))
    assert len({a.id for a, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 9 + [True]
    assert await Appointment.count().where(Appointment.patient == someone) == 1
    # The same key for another request is a conflict, not a second booking.
    with pytest.raises(Conflict) as caught:
        await booking.book(someone, doctor, at_ten() + dt.timedelta(hours=1), "cough", key)
    assert caught.value.code == "conflict" and http_status(caught.value) == 409


async def test_one_patient_racing_two_doctors_for_the_same_hour_gets_one(client):
    doctors = [await doctor_with(client) for _ in range(2)]
    someone = await patient(client)

    async def attempt(doctor: str) -> str:
        try:
            await booking.book(someone, doctor, at_ten(), "")
        except DomainError as exc:
            return exc.code
        return "booked"

    outcomes = await asyncio.gather(*(attempt(d) for d in doctors * 3))
    assert outcomes.count("booked") == 1, outcomes
    # The loser of the same doctor's slot hears slot_taken; the other doctor's, conflict (an overlap).
    assert set(outcomes) - {"booked"} <= {"slot_taken", "conflict"}
    assert await Appointment.count().where(Appointment.patient == someone) == 1
