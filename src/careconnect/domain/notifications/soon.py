"""``visit.soon``: "your visit starts in 10 minutes", to both sides, as a durable outbox job
written with the booking (moved by a reschedule with ``supersede``, withdrawn on cancel) and
skipped when moot (the visit moved, was cancelled or closed)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import msgspec

from careconnect.domain.notifications import inbox
from careconnect.domain.notifications.jobs import Outcome, Sent, Skipped, appointment_key
from careconnect.domain.notifications.outbox import Job, Outbox
from careconnect.domain.notifications.visits import visit_parties
from careconnect.tables.scheduling import Appointment

if TYPE_CHECKING:
    from careconnect.events import Events

SOON = "visit.soon"
LEAD = dt.timedelta(minutes=10)


class VisitSoon(msgspec.Struct, frozen=True, kw_only=True):
    appointment_id: str
    starts_at: dt.datetime


async def schedule_soon(outbox: Outbox, appointment_id: str, starts_at: dt.datetime) -> bool:
    """Write (or move) the visit's "starting in 10 minutes" job; none when that time has passed."""
    run_at = starts_at - LEAD
    if run_at <= dt.datetime.now(dt.UTC):
        await outbox.cancel(key=f"{SOON}:{appointment_id}")
        return False
    payload = VisitSoon(appointment_id=appointment_id, starts_at=starts_at)
    return await outbox.supersede(SOON, payload, key=f"{SOON}:{appointment_id}", run_at=run_at)


async def cancel_soon(outbox: Outbox, appointment_id: str) -> int:
    return await outbox.cancel(key=f"{SOON}:{appointment_id}")


class SoonNotifier:
    """The ``visit.soon`` job kind: store and push the notification for both sides."""

    def __init__(self, events: Events) -> None:
        self.events = events

    async def __call__(self, job: Job) -> Outcome:
        soon = job.decode_or_give_up(VisitSoon, "a visit")
        key = appointment_key(soon.appointment_id)
        row = await Appointment.select(Appointment.status, Appointment.starts_at).where(Appointment.id == key).first()
        if row is None or row["status"] not in ("booked", "checked_in"):
            return Skipped("the visit is gone or closed")
        if row["starts_at"] != soon.starts_at:
            return Skipped("the visit moved")
        parties = await visit_parties(soon.appointment_id)
        if parties is None:
            return Skipped("the visit is gone")
        link = f"/consultation/{soon.appointment_id}"
        stamp = f"{soon.starts_at.timestamp():.0f}"
        for to, other in ((parties.patient, parties.visit.doctor_name), (parties.doctor, parties.visit.patient_name)):
            made = await inbox.add(
                to.user_id,
                "starting_soon",
                "Your visit starts in 10 minutes",
                f"With {other}.",
                link,
                key=f"starting_soon:{soon.appointment_id}:{stamp}:{to.user_id}",
            )
            if made is not None:
                await self.events.notification_created(to.user_id, made)
        return Sent()
