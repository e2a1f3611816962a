"""Visits booked before the outbox existed get the jobs a booking writes today.

A visit booked by an earlier version has no ``visit.close`` job (so nothing would ever close it),
no ``visit.soon`` notification and no reminder mails. The ``visits.backfill`` job writes them,
for every visit still open, with the same dedupe keys a booking uses, so a visit that already
has its jobs keeps them as they are and a second run writes nothing.

Every server start queues the first page under one fixed key (``enqueue`` does nothing when it
exists): it runs once per database, whatever the number of workers and restarts, by whichever
worker claims it. A page handles ``PAGE`` visits in id order and queues the next page, so a large
table is worked through in steps that each end well within a claim's lease.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec
from piccolo.custom_types import Combinable

from careconnect.domain.appointments.closing import CLOSE, CloseVisit
from careconnect.domain.notifications.jobs import Outcome, Sent, appointment_key
from careconnect.domain.notifications.mailing import Mailer, reminders_topic
from careconnect.domain.notifications.outbox import Job, Outbox, utc_now
from careconnect.domain.notifications.schemas import Recipient, Role
from careconnect.domain.notifications.soon import LEAD, SOON, VisitSoon
from careconnect.domain.notifications.visits import visit_parties
from careconnect.tables.outbox import OutboxJob
from careconnect.tables.scheduling import Appointment

BACKFILL = "visits.backfill"
FIRST_PAGE_KEY = f"{BACKFILL}:issue-17"
PAGE = 200
OPEN = ("booked", "checked_in", "in_progress")
WAITING = ("booked", "checked_in")
START_DELAY = dt.timedelta(minutes=1)  # after the start has settled, not in its rush


class BackfillPage(msgspec.Struct, frozen=True, kw_only=True):
    """Visits with an id after ``after`` (all of them when None)."""

    after: str | None = None


async def queue_backfill(outbox: Outbox, delay: dt.timedelta = START_DELAY) -> bool:
    """Queue the first page, due ``delay`` from now, unless it was ever queued (on every start:
    one insert that does nothing after the first)."""
    return await outbox.enqueue(BACKFILL, BackfillPage(), key=FIRST_PAGE_KEY, run_at=utc_now() + delay)


class VisitJobsBackfill:
    """The ``visits.backfill`` job kind. Args: the mailer (reminders), and a clock."""

    def __init__(self, mailer: Mailer, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.mailer = mailer
        self.outbox = mailer.outbox
        self.clock = clock

    async def __call__(self, job: Job) -> Outcome:
        page = job.decode_or_give_up(BackfillPage, "a backfill page")
        query = Appointment.select(Appointment.id, Appointment.status, Appointment.starts_at, Appointment.ends_at)
        where: Combinable = Appointment.status.is_in(list(OPEN))
        if page.after is not None:
            where = where & (Appointment.id > appointment_key(page.after))
        rows = await query.where(where).order_by(Appointment.id).limit(PAGE)
        now = self.clock()
        for row in rows:
            await self._visit(str(row["id"]), row["status"], row["starts_at"], row["ends_at"], now)
        if len(rows) == PAGE:
            last = str(rows[-1]["id"])
            await self.outbox.enqueue(BACKFILL, BackfillPage(after=last), key=f"{BACKFILL}:after:{last}")
        return Sent()

    async def _visit(
        self, appointment_id: str, status: str, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime
    ) -> None:
        await self.outbox.enqueue(
            CLOSE,
            CloseVisit(appointment_id=appointment_id, ends_at=ends_at),
            key=f"{CLOSE}:{appointment_id}",
            run_at=ends_at,
        )
        if status not in WAITING:
            return
        if starts_at - LEAD > now:
            await self.outbox.enqueue(
                SOON,
                VisitSoon(appointment_id=appointment_id, starts_at=starts_at),
                key=f"{SOON}:{appointment_id}",
                run_at=starts_at - LEAD,
            )
        if await OutboxJob.exists().where(OutboxJob.topic == reminders_topic(appointment_id)):
            return  # booked by this version (or backfilled already): its reminders are its own
        if (parties := await visit_parties(appointment_id)) is not None:
            sides: list[tuple[Recipient, Role]] = [(parties.patient, "patient"), (parties.doctor, "doctor")]
            await self.mailer.schedule_reminders(parties.visit, sides)  # none whose time has passed
