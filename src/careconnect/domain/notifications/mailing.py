"""Mail as an outbox job kind: ``Mailer`` queues the product's mails inside the caller's
transaction; ``MailHandler`` renders and sends one when the worker claims it.

For the services that cause mails (accounts, scheduling, consultations): take a ``Mailer``
(app-level dependency ``mailer``) and call it inside the transaction of the event::

    async with write_transaction():
        ...book the slot...
        await mailer.booking_confirmed(visit, patient, role="patient")
        await mailer.booking_confirmed(visit, doctor, role="doctor")
        await mailer.schedule_reminders(visit, [(patient, "patient"), (doctor, "doctor")])

Each method builds the event's dedupe key itself, so calling it again for the same event (a
retried request) queues nothing more; each returns whether it queued a mail.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from careconnect.domain.notifications.ics import sequence_at
from careconnect.domain.notifications.jobs import GiveUp, Outcome, Sent, Skipped
from careconnect.domain.notifications.outbox import Job, Outbox, utc_now
from careconnect.domain.notifications.schemas import (
    CHECK_IN_OPENS_BEFORE,
    BookingConfirmation,
    Category,
    EmailVerification,
    Mail,
    MailJob,
    PasswordReset,
    Recipient,
    Role,
    SummaryReady,
    Visit,
    VisitCancelled,
    VisitCondition,
    VisitReminder,
    VisitRescheduled,
)
from careconnect.domain.notifications.templates import MissingSecret
from careconnect.mail import MailRejected, MailTransport, compose
from careconnect.mail.message import address_of
from careconnect.tables.scheduling import Appointment

if TYPE_CHECKING:
    from careconnect.domain.notifications.sealing import SecretBox
    from careconnect.domain.notifications.templates import Renderer

MAIL = "mail"
REMINDER_LEADS: dict[Literal["24h", "1h"], dt.timedelta] = {"24h": dt.timedelta(hours=24), "1h": dt.timedelta(hours=1)}


class MailPreferences(Protocol):
    """Whether a user wants mails of a category; asked at send time, so turning reminders off
    stops the ones already queued. ``security`` mails never ask."""

    async def wants(self, user_id: str, category: Category) -> bool: ...


class EveryMail:
    """Until preferences are stored (``/users/me/notification-preferences``): everyone wants everything."""

    async def wants(self, user_id: str, category: Category) -> bool:
        return True


class Mailer:
    """Queues mails in the outbox (in the caller's transaction). Args: the outbox, the box that
    seals link tokens, and a clock (tests pass their own)."""

    def __init__(self, outbox: Outbox, box: SecretBox, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.outbox = outbox
        self.box = box
        self.clock = clock

    async def email_verification(self, to: Recipient, token: str, *, token_id: str, valid_hours: int = 24) -> bool:
        """The "confirm your address" mail; ``token_id`` names this token (its row id or hash)."""
        key = f"mail:verify-email:{token_id}"
        return await self._queue(
            to,
            EmailVerification(valid_hours=valid_hours),
            "security",
            key=key,
            secret=self.box.seal(token, key),
            stale_after=self.clock() + dt.timedelta(hours=valid_hours),
        )

    async def password_reset(
        self, to: Recipient, token: str, *, token_id: str, valid_minutes: int = 30, requested_by_admin: bool = False
    ) -> bool:
        """The reset link (single use, ``valid_minutes``): skipped if it could only go out after it expired."""
        key = f"mail:password-reset:{token_id}"
        return await self._queue(
            to,
            PasswordReset(valid_minutes=valid_minutes, requested_by_admin=requested_by_admin),
            "security",
            key=key,
            secret=self.box.seal(token, key),
            stale_after=self.clock() + dt.timedelta(minutes=valid_minutes),
        )

    async def booking_confirmed(self, visit: Visit, to: Recipient, *, role: Role) -> bool:
        """The booking, with its ``.ics``; skipped if the visit moved, was cancelled or began first."""
        return await self._queue(
            to,
            BookingConfirmation(visit=visit, role=role),
            "booking",
            key=f"mail:booked:{visit.id}:{to.user_id}",
            only_if=VisitCondition(appointment_id=visit.id, starts_at=visit.starts_at),
        )

    async def visit_rescheduled(
        self, visit: Visit, to: Recipient, *, role: Role, previous_starts_at: dt.datetime
    ) -> bool:
        """The new time, with an updated ``.ics`` (same UID, higher SEQUENCE)."""
        move = f"{_stamp(previous_starts_at)}>{_stamp(visit.starts_at)}"
        return await self._queue(
            to,
            VisitRescheduled(
                visit=visit, previous_starts_at=previous_starts_at, sequence=sequence_at(self.clock()), role=role
            ),
            "booking",
            key=f"mail:moved:{visit.id}:{move}:{to.user_id}",
            only_if=VisitCondition(appointment_id=visit.id, starts_at=visit.starts_at),
        )

    async def visit_cancelled(
        self, visit: Visit, to: Recipient, *, role: Role, cancelled_by: Literal["patient", "doctor", "admin", "system"]
    ) -> bool:
        """The cancellation (``METHOD:CANCEL``), for the other side; also withdraws the visit's reminders."""
        await self.cancel_reminders(visit.id)
        return await self._queue(
            to,
            VisitCancelled(visit=visit, cancelled_by=cancelled_by, sequence=sequence_at(self.clock()), role=role),
            "booking",
            key=f"mail:cancelled:{visit.id}:{to.user_id}",
        )

    async def schedule_reminders(self, visit: Visit, recipients: Sequence[tuple[Recipient, Role]]) -> int:
        """Reminders 24 h and 1 h before the start for each recipient, replacing the visit's
        earlier ones (call it on booking and again on every reschedule). A reminder whose time
        has already passed is not queued. Returns how many are queued."""
        await self.cancel_reminders(visit.id)
        now, queued = self.clock(), 0
        for lead, before in REMINDER_LEADS.items():
            run_at = visit.starts_at - before
            if run_at <= now:
                continue
            for to, role in recipients:
                mail = VisitReminder(
                    visit=visit, lead=lead, check_in_opens_at=visit.starts_at - CHECK_IN_OPENS_BEFORE, role=role
                )
                job = MailJob(
                    to=to,
                    mail=mail,
                    category="reminders",
                    only_if=VisitCondition(appointment_id=visit.id, starts_at=visit.starts_at),
                )
                key = f"mail:reminder-{lead}:{visit.id}:{_stamp(visit.starts_at)}:{to.user_id}"
                if await self.outbox.supersede(MAIL, job, key=key, run_at=run_at, topic=reminders_topic(visit.id)):
                    queued += 1
        return queued

    async def cancel_reminders(self, appointment_id: str) -> int:
        """Withdraw the visit's pending reminders (it was cancelled); returns how many."""
        return await self.outbox.cancel(topic=reminders_topic(appointment_id))

    async def summary_ready(self, visit: Visit, to: Recipient) -> bool:
        """ "Your summary is ready", once per visit (a later edit sends nothing more)."""
        return await self._queue(to, SummaryReady(visit=visit), "summary", key=f"mail:summary:{visit.id}:{to.user_id}")

    async def _queue(
        self,
        to: Recipient,
        mail: Mail,
        category: Category,
        *,
        key: str,
        secret: str | None = None,
        stale_after: dt.datetime | None = None,
        only_if: VisitCondition | None = None,
    ) -> bool:
        job = MailJob(to=to, mail=mail, category=category, secret=secret, stale_after=stale_after, only_if=only_if)
        return await self.outbox.enqueue(MAIL, job, key=key)


class MailHandler:
    """The ``mail`` job kind: decide whether the mail is still wanted, render it, send it.

    Skipped (moot) when: its link expired before it could go out; its visit moved, was
    cancelled or has started (``only_if``); the recipient turned that category off. Failed at
    once when the payload does not decode, its token does not unseal, or the server refused it
    for good (5xx); retried on any other error of the transport.
    """

    def __init__(
        self,
        transport: MailTransport,
        renderer: Renderer,
        box: SecretBox,
        *,
        sender: str,
        preferences: MailPreferences | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.transport = transport
        self.renderer = renderer
        self.box = box
        self.sender = sender
        self.preferences = preferences or EveryMail()
        self.clock = clock
        self._id_domain = address_of(sender).rpartition("@")[2] or "careconnect"

    async def __call__(self, job: Job) -> Outcome:
        mail_job = job.decode_or_give_up(MailJob, "a mail job")
        now = self.clock()
        if mail_job.stale_after is not None and now > mail_job.stale_after:
            return Skipped("its link expired before it could be sent")
        if mail_job.only_if is not None and (reason := await visit_moot(mail_job.only_if, now)):
            return Skipped(reason)
        if mail_job.category != "security" and not await self.preferences.wants(mail_job.to.user_id, mail_job.category):
            return Skipped(f"the recipient turned {mail_job.category} mails off")
        secret = self.box.open(mail_job.secret, job.dedupe_key) if mail_job.secret else None
        try:
            content = self.renderer.render(mail_job, secret=secret, now=now)
            message = compose(
                content,
                to=mail_job.to.email,
                to_name=mail_job.to.name,
                sender=self.sender,
                message_id=f"<{job.id}@{self._id_domain}>",
            )
        except (MissingSecret, ValueError) as exc:
            raise GiveUp(str(exc)) from exc
        try:
            await self.transport.send(message)
        except MailRejected as exc:
            raise GiveUp(str(exc)) from exc
        return Sent()


async def visit_moot(condition: VisitCondition, now: dt.datetime) -> str | None:
    """Why a mail about this visit is moot now, or None while it still stands."""
    try:
        appointment_id = uuid.UUID(condition.appointment_id)
    except ValueError:
        return "its visit id is not one"
    row = (
        await Appointment.select(Appointment.status, Appointment.starts_at)
        .where(Appointment.id == appointment_id)
        .first()
    )
    if row is None:
        return "the visit no longer exists"
    if row["status"] not in condition.statuses:
        return f"the visit is {row['status']}"
    starts_at: dt.datetime = row["starts_at"]
    if starts_at != condition.starts_at:
        return "the visit moved"
    if starts_at <= now:
        return "the visit has started"
    return None


def reminders_topic(appointment_id: str) -> str:
    return f"reminders:{appointment_id}"


def _stamp(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
