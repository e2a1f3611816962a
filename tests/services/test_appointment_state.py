"""The appointment state machine: the table of legal moves, and conditional updates on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid

import pytest

from careconnect.domain.appointments.state import ALLOWED, STATUSES, can_move, transition
from careconnect.domain.errors import Conflict, DomainError, NotFound
from careconnect.errors import status_of as http_status
from careconnect.tables.scheduling import Appointment
from tests.helpers import register

UTC = dt.UTC
LEGAL = {
    ("booked", "checked_in"),
    ("checked_in", "in_progress"),
    ("in_progress", "completed"),
    ("booked", "cancelled"),
    ("checked_in", "cancelled"),
    ("booked", "no_show"),
    ("checked_in", "no_show"),
}


def test_exactly_the_documented_moves_are_legal():
    for current, target in itertools.product(STATUSES, STATUSES):
        assert can_move(current, target) == ((current, target) in LEGAL), (current, target)
    assert set(ALLOWED) == {t for _, t in LEGAL}


async def appointment(client, status: str = "booked", *, starts_in: dt.timedelta = dt.timedelta(days=1)) -> str:
    """An appointment row written straight to the table, in any status."""
    patient = await register(client, "patient")
    doctor = await register(client, "doctor")
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
    return row_id


async def status_of(appointment_id: str) -> str:
    row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
    return str(row["status"])


async def test_the_happy_path_returns_each_updated_row(client):
    aid = await appointment(client)
    for target in ("checked_in", "in_progress", "completed"):
        row = await transition(aid, target)
        assert row["status"] == target and str(row["id"]) == aid
    assert await status_of(aid) == "completed"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("booked", "in_progress"),
        ("booked", "completed"),
        ("in_progress", "cancelled"),
        ("in_progress", "no_show"),
        ("completed", "cancelled"),
        ("cancelled", "checked_in"),
        ("no_show", "checked_in"),
    ],
)
async def test_illegal_moves_are_invalid_state_and_change_nothing(client, current, target):
    aid = await appointment(client, current)
    with pytest.raises(Conflict) as caught:
        await transition(aid, target)
    assert http_status(caught.value) == 409 and caught.value.code == "invalid_state"
    assert await status_of(aid) == current


async def test_unknown_appointment_and_unknown_status(client):
    with pytest.raises(NotFound) as caught:
        await transition(str(uuid.uuid4()), "checked_in")
    assert http_status(caught.value) == 404 and caught.value.code == "not_found"
    with pytest.raises(ValueError):
        await transition(str(uuid.uuid4()), "booked")
    with pytest.raises(ValueError):
        await transition(str(uuid.uuid4()), "completed", expected_from="booked")


async def test_expected_from_and_condition_narrow_the_move(client):
    aid = await appointment(client, "checked_in")
    with pytest.raises(Conflict) as caught:
        await transition(aid, "cancelled", expected_from="booked")
    assert caught.value.code == "invalid_state"
    started = await appointment(client, starts_in=-dt.timedelta(minutes=5))
    with pytest.raises(Conflict) as caught:
        await transition(
            started, "cancelled", condition=Appointment.starts_at > dt.datetime.now(UTC), refusal="too late"
        )
    assert caught.value.code == "invalid_state" and caught.value.detail == "too late"
    assert await status_of(started) == "booked"
    row = await transition(aid, "cancelled", {Appointment.cancelled_reason: "ill"}, expected_from=["checked_in"])
    assert row["status"] == "cancelled" and row["cancelled_reason"] == "ill"


async def test_of_concurrent_transitions_exactly_one_wins(client):
    aid = await appointment(client, "checked_in")
    targets = ["in_progress", "cancelled", "no_show"] * 5

    async def attempt(target: str) -> str | None:
        try:
            await transition(aid, target)
        except DomainError as exc:
            assert exc.code == "invalid_state"
            return None
        return target

    winners = [t for t in await asyncio.gather(*(attempt(t) for t in targets)) if t]
    assert len(winners) == 1
    assert await status_of(aid) == winners[0]
