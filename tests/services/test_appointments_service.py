"""AppointmentsService without HTTP: the consultation's status moves, their time rules and events."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from careconnect.domain.appointments.service import AppointmentsService
from careconnect.domain.consultations.rooms import membership
from careconnect.domain.errors import Conflict, NotFound
from careconnect.principal import Principal
from careconnect.tables.scheduling import Appointment
from tests.helpers import register
from tests.services.test_scheduling_service import Recorder, person

UTC = dt.UTC


async def visit_in(client, starts_in: dt.timedelta, status: str = "booked"):
    """An appointment written straight to the table, and the patient's membership of it."""
    patient, doctor = await register(client, "patient"), await register(client, "doctor")
    starts = dt.datetime.now(UTC).replace(microsecond=0) + starts_in
    row_id = str(uuid.uuid4())
    await Appointment(
        id=row_id,
        patient=patient["id"],
        doctor=doctor["id"],
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=30),
        status=status,
        reason="",
        created_at=dt.datetime.now(UTC),
    ).save()
    found = await membership(person(patient["id"], "patient"), row_id)
    assert found is not None
    return found


async def status_of(appointment_id: str) -> str:
    row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
    return str(row["status"])


async def test_each_move_is_written_then_announced_to_the_room_and_both_people(client):
    visit = await visit_in(client, dt.timedelta(minutes=5))
    events = Recorder()
    service = AppointmentsService(events)
    pair = sorted([visit.patient_id, visit.doctor_id])
    for move, status in (
        (service.check_in, "checked_in"),
        (service.start, "in_progress"),
        (service.complete, "completed"),
    ):
        appointment = await move(visit)
        assert appointment.status == status and await status_of(visit.appointment_id) == status
        assert events.sent[-2:] == [
            ("room_state", visit.appointment_id, status),
            ("appointment", visit.appointment_id, status, *pair),
        ]
    assert len(events.sent) == 6


async def test_check_in_opens_fifteen_minutes_before_the_start(client):
    visit = await visit_in(client, dt.timedelta(days=1))
    events = Recorder()
    service = AppointmentsService(events)
    with pytest.raises(Conflict) as caught:
        await service.check_in(visit)
    assert caught.value.code == "invalid_state" and "15 minutes" in caught.value.detail
    assert await status_of(visit.appointment_id) == "booked" and events.sent == []
    appointment = await service.check_in(visit, now=visit.starts_at - dt.timedelta(minutes=15))
    assert appointment.status == "checked_in"


async def test_a_no_show_is_recorded_from_ten_minutes_after_the_start(client):
    visit = await visit_in(client, -dt.timedelta(minutes=5))
    events = Recorder()
    service = AppointmentsService(events)
    with pytest.raises(Conflict) as caught:
        await service.no_show(visit)
    assert caught.value.code == "invalid_state" and "10 minutes" in caught.value.detail
    assert events.sent == []
    appointment = await service.no_show(visit, now=visit.starts_at + dt.timedelta(minutes=10))
    assert appointment.status == "no_show" and events.sent[0] == ("room_state", visit.appointment_id, "no_show")


async def test_an_illegal_move_changes_nothing_and_announces_nothing(client):
    visit = await visit_in(client, dt.timedelta(minutes=5))
    events = Recorder()
    service = AppointmentsService(events)
    with pytest.raises(Conflict) as caught:
        await service.complete(visit)  # booked cannot become completed
    assert caught.value.code == "invalid_state"
    assert await status_of(visit.appointment_id) == "booked" and events.sent == []


async def test_reads_are_the_participants_only(client):
    visit = await visit_in(client, dt.timedelta(days=1))
    service = AppointmentsService(Recorder())
    mine = await service.one(person(visit.patient_id, "patient"), visit.appointment_id)
    assert mine.id == visit.appointment_id
    assert (await service.page(person(visit.doctor_id, "doctor"))).items[0].id == visit.appointment_id
    calendar = await service.calendar(person(visit.doctor_id, "doctor"), visit.appointment_id)
    assert calendar.filename == f"appointment-{visit.appointment_id}.ics" and b"BEGIN:VEVENT" in calendar.content
    stranger: Principal = person(str(uuid.uuid4()), "patient")
    for read in (service.one, service.calendar):
        with pytest.raises(NotFound):
            await read(stranger, visit.appointment_id)
    with pytest.raises(NotFound):
        await service.one(person(visit.patient_id, "patient"), "not-an-id")
