"""Visits nobody closed (issue 17): a durable ``visit.close`` job per visit, written with the
booking (and moved by a reschedule, in the same transaction), due at the slot's end.

When it runs, a visit still ``booked`` or ``checked_in`` ``NO_SHOW_AFTER_MINUTES`` after its
end becomes ``no_show``; one left ``in_progress`` ``AUTO_COMPLETE_AFTER_HOURS`` after its end is
``completed``. Run before that (it is due at the end), the job queues its follow-up for the
right time. Each move is the state machine's conditional UPDATE, so whatever the number of
workers (the outbox gives a job to one at a time) a visit is closed at most once; a visit the
doctor closed, or that was cancelled or moved meanwhile, is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from careconnect.db import write_transaction
from careconnect.domain.appointments.queries import appointment_out
from careconnect.domain.appointments.state import transition
from careconnect.domain.errors import Conflict, NotFound
from careconnect.domain.notifications.jobs import Outcome, Sent, Skipped, appointment_key
from careconnect.domain.notifications.outbox import Job, Outbox, utc_now
from careconnect.tables.scheduling import Appointment

if TYPE_CHECKING:
    from careconnect.domain.webhooks.events import WebhookEvents
    from careconnect.events import Events

CLOSE = "visit.close"


class CloseVisit(msgspec.Struct, frozen=True, kw_only=True):
    appointment_id: str
    ends_at: dt.datetime


async def schedule_close(outbox: Outbox, appointment_id: str, ends_at: dt.datetime) -> bool:
    """Write (or, on a reschedule, move) the visit's close job, due at its end."""
    return await outbox.supersede(
        CLOSE,
        CloseVisit(appointment_id=appointment_id, ends_at=ends_at),
        key=f"{CLOSE}:{appointment_id}",
        run_at=ends_at,
    )


class VisitCloser:
    """The ``visit.close`` job kind. Args: where the moves are announced, the outbox (for the
    follow-up), the two grace periods, and a clock."""

    def __init__(
        self,
        events: Events,
        outbox: Outbox,
        *,
        no_show_after: dt.timedelta,
        complete_after: dt.timedelta,
        clock: Callable[[], dt.datetime] = utc_now,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self.webhooks = webhooks  # the move's webhook event, queued in its transaction
        self.events = events
        self.outbox = outbox
        self.no_show_after = no_show_after
        self.complete_after = complete_after
        self.clock = clock

    async def __call__(self, job: Job) -> Outcome:
        close = job.decode_or_give_up(CloseVisit, "a visit to close")
        key = appointment_key(close.appointment_id)
        row = await Appointment.select(Appointment.status, Appointment.ends_at).where(Appointment.id == key).first()
        if row is None:
            return Skipped("the visit no longer exists")
        if row["ends_at"] != close.ends_at:
            return Skipped("the visit moved")
        status: str = row["status"]
        if status in ("booked", "checked_in"):
            target, due = "no_show", close.ends_at + self.no_show_after
        elif status == "in_progress":
            target, due = "completed", close.ends_at + self.complete_after
        else:
            return Skipped(f"the visit is {status}")
        now = self.clock()
        if now < due:
            stamp = due.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            await self.outbox.enqueue(CLOSE, close, key=f"{CLOSE}:{close.appointment_id}:{stamp}", run_at=due)
            return Sent()
        try:
            async with write_transaction():
                await transition(
                    close.appointment_id,
                    target,
                    expected_from=status,
                    condition=Appointment.ends_at <= now - (due - close.ends_at),
                )
                if self.webhooks is not None:
                    await self.webhooks.status_changed(close.appointment_id, target)
        except (Conflict, NotFound) as exc:  # the doctor (or another move) got there first
            return Skipped(str(exc))
        appointment = await appointment_out(close.appointment_id)
        await self.events.room_state_changed(close.appointment_id, target)
        await self.events.appointment_changed(appointment, [appointment.patient.id, appointment.doctor.id])
        return Sent()
