"""Visits nobody closed (issue 17): check-in closes when the slot ends."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from careconnect.domain.appointments.closing import CLOSE, CloseVisit, schedule_close
from careconnect.domain.notifications.outbox import Outbox
from careconnect.tables.outbox import OutboxJob
from careconnect.tables.scheduling import Appointment
from tests.conftest import app_client, make_settings, wipe
from tests.consult_helpers import visit
from tests.helpers import assert_problem
from tests.notifications.test_app import until


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


async def ended(appointment_id: str, ago: dt.timedelta) -> None:
    """The visit's slot ended ``ago``; its close job (written with the booking) follows, as a reschedule would move it."""
    ends = dt.datetime.now(dt.UTC) - ago
    await Appointment.update({Appointment.starts_at: ends - dt.timedelta(minutes=10), Appointment.ends_at: ends}).where(
        Appointment.id == appointment_id
    )
    assert await OutboxJob.exists().where(OutboxJob.dedupe_key == f"{CLOSE}:{appointment_id}")
    await schedule_close(Outbox(), appointment_id, ends)


async def status_of(appointment_id: str) -> str:
    row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
    assert row is not None
    return str(row["status"])


async def closed(appointment_id: str, status: str) -> None:
    async def done() -> bool:
        return await status_of(appointment_id) == status

    await until(done, timeout=15)


@pytest.fixture
async def fast(database_url):
    async with app_client(make_settings(database_url, outbox_poll_s=0.05)) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        yield http
        await OutboxJob.delete(force=True)


async def test_a_visit_nobody_came_to_becomes_no_show_once(fast):
    v = await visit(fast)
    await ended(v["id"], dt.timedelta(minutes=31))
    await closed(v["id"], "no_show")

    async def recorded() -> bool:
        jobs = await OutboxJob.select(OutboxJob.status).where(OutboxJob.kind == CLOSE)
        return [j["status"] for j in jobs] == ["sent"]  # one job, carried out once

    await until(recorded)


async def test_a_checked_in_visit_waits_for_the_grace_then_no_show(fast):
    v = await visit(fast)
    assert (
        await fast.post(f"/api/v1/consultations/{v['id']}/check-in", headers=v["patient_headers"])
    ).status_code == 200
    await ended(v["id"], dt.timedelta(minutes=5))  # within the 30 minutes: a follow-up is queued

    async def follow_up() -> bool:
        return await OutboxJob.count().where(OutboxJob.kind == CLOSE) == 2

    await until(follow_up)
    assert await status_of(v["id"]) == "checked_in"
    await OutboxJob.update(
        {OutboxJob.run_at: dt.datetime.now(dt.UTC), OutboxJob.due_at: dt.datetime.now(dt.UTC)}
    ).where((OutboxJob.kind == CLOSE) & (OutboxJob.status == "pending"))
    # Run early on purpose: the condition in the UPDATE refuses it (skipped), nothing changes.
    await asyncio.sleep(1)
    assert await status_of(v["id"]) == "checked_in"


async def test_a_visit_left_in_progress_is_completed_hours_after_its_end(fast):
    v = await visit(fast)
    for path, who in (("check-in", "patient_headers"), ("start", "doctor_headers")):
        assert (await fast.post(f"/api/v1/consultations/{v['id']}/{path}", headers=v[who])).status_code == 200
    await ended(v["id"], dt.timedelta(hours=1))  # not yet: a follow-up at end + 4 h

    async def follow_up() -> bool:
        return await OutboxJob.count().where(OutboxJob.kind == CLOSE) == 2

    await until(follow_up)
    assert await status_of(v["id"]) == "in_progress"
    # Four hours pass: the visit ended 4 h 1 min ago when its follow-up comes due.
    (follow,) = await OutboxJob.select(OutboxJob.dedupe_key).where(
        (OutboxJob.kind == CLOSE) & (OutboxJob.status == "pending")
    )
    ends = dt.datetime.now(dt.UTC) - dt.timedelta(hours=4, minutes=1)
    await Appointment.update({Appointment.starts_at: ends - dt.timedelta(minutes=10), Appointment.ends_at: ends}).where(
        Appointment.id == v["id"]
    )
    payload = CloseVisit(appointment_id=v["id"], ends_at=ends)
    await Outbox().supersede(CLOSE, payload, key=follow["dedupe_key"], run_at=dt.datetime.now(dt.UTC))
    await closed(v["id"], "completed")


async def test_a_cancelled_visit_is_left_alone(fast):
    v = await visit(fast)
    assert (
        await fast.post(f"/api/v1/appointments/{v['id']}/cancel", json={}, headers=v["patient_headers"])
    ).status_code == 200
    await ended(v["id"], dt.timedelta(hours=1))

    async def skipped() -> bool:
        row = await OutboxJob.select(OutboxJob.status).where(OutboxJob.dedupe_key == f"{CLOSE}:{v['id']}").first()
        return row is not None and row["status"] == "skipped"

    await until(skipped)
    assert await status_of(v["id"]) == "cancelled"
