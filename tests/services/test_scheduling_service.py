"""SchedulingService without HTTP: what it announces, and when it refuses, on both databases."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from careconnect.domain.errors import Conflict, Invalid, NotFound
from careconnect.domain.scheduling.schemas import BookingIn, CancelIn
from careconnect.domain.scheduling.service import SchedulingService
from careconnect.principal import Principal
from careconnect.tables.scheduling import Appointment
from tests.services.test_booking import at_ten, doctor_with, patient


class Recorder:
    """An ``Events`` that keeps what it is told, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    async def appointment_changed(self, appointment, user_ids):
        self.sent.append(("appointment", appointment.id, appointment.status, *sorted(user_ids)))

    async def room_state_changed(self, appointment_id, state):
        self.sent.append(("room_state", appointment_id, state))

    async def disconnect_user(self, user_id):
        self.sent.append(("disconnect", user_id))

    async def evict(self, user_id, room):
        self.sent.append(("evict", user_id, room))


def person(user_id: str, role: str) -> Principal:
    return Principal(id=user_id, role=role, name="", session_id="")


async def test_a_booking_is_announced_once_and_its_replay_is_silent(client):
    doctor, someone = await doctor_with(client), await patient(client)
    events = Recorder()
    service = SchedulingService(events)
    request = BookingIn(doctor_id=doctor, starts_at=at_ten(), reason="  cough ")
    made, created = await service.book(person(someone, "patient"), request, "key-1")
    assert created and made.status == "booked" and made.reason == "cough"
    assert events.sent == [("appointment", made.id, "booked", *sorted([someone, doctor]))]
    again, created = await service.book(person(someone, "patient"), request, "key-1")
    assert (again.id, created) == (made.id, False)
    assert len(events.sent) == 1


async def test_a_refused_booking_announces_nothing_and_writes_nothing(client):
    doctor, first, second = await doctor_with(client), await patient(client), await patient(client)
    events = Recorder()
    service = SchedulingService(events)
    await service.book(person(first, "patient"), BookingIn(doctor_id=doctor, starts_at=at_ten()))
    with pytest.raises(Conflict) as caught:
        await service.book(person(second, "patient"), BookingIn(doctor_id=doctor, starts_at=at_ten()))
    assert caught.value.code == "slot_taken"
    with pytest.raises(Invalid) as caught_invalid:
        await service.book(person(second, "patient"), BookingIn(doctor_id="not-a-uuid", starts_at=at_ten()))
    assert caught_invalid.value.errors == [{"field": "doctor_id", "message": "not a doctor id"}]
    with pytest.raises(Invalid) as caught_invalid:
        await service.book(person(second, "patient"), BookingIn(doctor_id=doctor, starts_at=at_ten()), "")
    assert caught_invalid.value.errors == [{"field": "Idempotency-Key", "message": "1 to 200 characters, no NUL"}]
    assert len(events.sent) == 1
    assert await Appointment.count().where(Appointment.patient == second) == 0


async def test_reschedule_and_cancel_are_announced_and_cancel_closes_the_room(client):
    doctor, someone = await doctor_with(client), await patient(client)
    events = Recorder()
    service = SchedulingService(events)
    me = person(someone, "patient")
    made, _ = await service.book(me, BookingIn(doctor_id=doctor, starts_at=at_ten()))
    moved = await service.reschedule(me, made.id, at_ten() + dt.timedelta(hours=1))
    assert moved.starts_at == at_ten() + dt.timedelta(hours=1)
    cancelled = await service.cancel(person(doctor, "doctor"), made.id, CancelIn(reason=" away "))
    assert (cancelled.status, cancelled.cancelled_reason) == ("cancelled", "away")
    pair = sorted([someone, doctor])
    assert events.sent == [
        ("appointment", made.id, "booked", *pair),
        ("appointment", made.id, "booked", *pair),
        ("appointment", made.id, "cancelled", *pair),
        ("room_state", made.id, "cancelled"),
    ]
    # Someone else's appointment is not found, and nothing is announced.
    stranger = person(await patient(client), "patient")
    with pytest.raises(NotFound):
        await service.cancel(stranger, made.id)
    with pytest.raises(NotFound):
        await service.reschedule(stranger, str(uuid.uuid4()), at_ten())
    assert len(events.sent) == 4


async def test_slots_ranges_are_checked_after_the_doctor(client):
    doctor, someone = await doctor_with(client), await patient(client)
    service = SchedulingService(Recorder())
    me = person(someone, "patient")
    start = at_ten()
    found = await service.slots(me, doctor, start, start + dt.timedelta(hours=1))
    assert [s.starts_at for s in found.slots] == [start, start + dt.timedelta(minutes=30)]
    assert (found.timezone, found.slot_minutes) == ("UTC", 30)
    with pytest.raises(Invalid) as caught:
        await service.slots(me, doctor, start, start)
    assert caught.value.errors == [{"field": "to", "message": "must be after from"}]
    with pytest.raises(Invalid) as caught:
        await service.slots(me, doctor, start, start + dt.timedelta(days=32))
    assert caught.value.errors == [{"field": "to", "message": "at most 31 days after from"}]
    # An unknown doctor is not found before the range is looked at.
    with pytest.raises(NotFound):
        await service.slots(me, str(uuid.uuid4()), start, start)
