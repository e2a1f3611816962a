"""The mails a visit's events cause, queued inside the event's own write transaction.

The scheduling and consultation services call one method per event with the appointment id;
this reads the visit and both its people (``visit_parties``) on the transaction's connection
and queues the mails the table in docs/notifications.md names:

| event | mails |
| --- | --- |
| booked | the booking with its ``.ics`` to the patient and the doctor; reminders 24 h and 1 h before, to both |
| rescheduled | the new time (updated ``.ics``) to the doctor (the patient moved it) and the patient; the reminders again |
| cancelled | the cancellation to the other side (``METHOD:CANCEL``); the reminders withdrawn |
| summary published | "your summary is ready" to the patient, once per visit |

Each event also stores the bell's notification for the side that did not cause it (booked,
rescheduled, cancelled, summary ready; and, with no mail, the patient waiting for the doctor
and the visit started for the patient). They are kept in ``pending`` until the caller's
transaction commits; the caller then pushes them (``inbox.push(events, mails.pending)``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from careconnect.domain.appointments.closing import schedule_close
from careconnect.domain.notifications import inbox
from careconnect.domain.notifications.soon import cancel_soon, schedule_soon
from careconnect.domain.notifications.templates import Renderer
from careconnect.domain.notifications.visits import VisitParties, visit_parties

if TYPE_CHECKING:
    from careconnect.domain.notifications.mailing import Mailer
    from careconnect.domain.notifications.schemas import NotificationKind, NotificationOut, Recipient, Role

CancelledBy = Literal["patient", "doctor", "admin", "system"]
_CANCELLED_BY: dict[str, CancelledBy] = {"patient": "patient", "doctor": "doctor", "admin": "admin"}


class VisitMails:
    """The visit events as mails. Args: the app's ``Mailer``."""

    def __init__(self, mailer: Mailer | None = None) -> None:
        self.mailer = mailer
        self.pending: list[tuple[str, NotificationOut]] = []

    async def _notify(
        self, parties: VisitParties, to: Recipient, kind: NotificationKind, title: str, body: str, key: str
    ) -> None:
        link = f"/consultation/{parties.visit.id}"
        made = await inbox.add(to.user_id, kind, title, body, link, key=f"{kind}:{key}:{to.user_id}")
        if made is not None:
            self.pending.append((to.user_id, made))

    async def checked_in(self, appointment_id: str) -> None:
        """To the doctor: the patient is in the waiting room."""
        if parties := await visit_parties(appointment_id):
            who = parties.visit.patient_name
            await self._notify(
                parties,
                parties.doctor,
                "patient_waiting",
                f"{who} is waiting",
                "In the waiting room now.",
                parties.visit.id,
            )

    async def admitted(self, appointment_id: str) -> None:
        """To the patient: the doctor started the visit."""
        if parties := await visit_parties(appointment_id):
            title = f"{parties.visit.doctor_name} has started your visit"
            await self._notify(
                parties, parties.patient, "admitted", title, "Join the consultation now.", parties.visit.id
            )

    async def booked(self, appointment_id: str) -> None:
        parties = await visit_parties(appointment_id)
        if parties is None:
            return
        when = Renderer._when(parties.visit.starts_at, parties.doctor)
        await self._notify(
            parties, parties.doctor, "booked", f"New booking: {parties.visit.patient_name}", when, parties.visit.id
        )
        if self.mailer is None:
            return
        await schedule_close(self.mailer.outbox, parties.visit.id, parties.visit.ends_at)
        await schedule_soon(self.mailer.outbox, parties.visit.id, parties.visit.starts_at)
        await self.mailer.booking_confirmed(parties.visit, parties.patient, role="patient")
        await self.mailer.booking_confirmed(parties.visit, parties.doctor, role="doctor")
        await self.mailer.schedule_reminders(parties.visit, [(parties.patient, "patient"), (parties.doctor, "doctor")])

    async def rescheduled(self, appointment_id: str, previous_starts_at: dt.datetime) -> None:
        parties = await visit_parties(appointment_id)
        if parties is None:
            return
        when = Renderer._when(parties.visit.starts_at, parties.doctor)
        key = f"{parties.visit.id}:{parties.visit.starts_at.timestamp():.0f}"
        title = f"{parties.visit.patient_name} moved their visit"
        await self._notify(parties, parties.doctor, "rescheduled", title, f"Now {when}", key)
        if self.mailer is None:
            return
        await schedule_close(self.mailer.outbox, parties.visit.id, parties.visit.ends_at)
        await schedule_soon(self.mailer.outbox, parties.visit.id, parties.visit.starts_at)
        sides: list[tuple[Recipient, Role]] = [(parties.patient, "patient"), (parties.doctor, "doctor")]
        for to, role in sides:
            await self.mailer.visit_rescheduled(parties.visit, to, role=role, previous_starts_at=previous_starts_at)
        await self.mailer.schedule_reminders(parties.visit, sides)

    async def cancelled(self, appointment_id: str, cancelled_by: str) -> None:
        """The other side hears of it (an admin's or the system's cancellation: both sides)."""
        parties = await visit_parties(appointment_id)
        if parties is None:
            return
        by = _CANCELLED_BY.get(cancelled_by, "system")
        if self.mailer is not None:
            await cancel_soon(self.mailer.outbox, parties.visit.id)
        for to, side in ((parties.patient, "patient"), (parties.doctor, "doctor")):
            if by != side:
                other = parties.visit.patient_name if side == "doctor" else parties.visit.doctor_name
                title = f"Visit cancelled by {other}" if by in ("patient", "doctor") else "Visit cancelled"
                when = Renderer._when(parties.visit.starts_at, to)
                await self._notify(parties, to, "cancelled", title, when, parties.visit.id)
        if self.mailer is None:
            return
        if by != "patient":
            await self.mailer.visit_cancelled(parties.visit, parties.patient, role="patient", cancelled_by=by)
        if by != "doctor":
            await self.mailer.visit_cancelled(parties.visit, parties.doctor, role="doctor", cancelled_by=by)
        await self.mailer.cancel_reminders(parties.visit.id)

    async def summary_ready(self, appointment_id: str) -> None:
        parties = await visit_parties(appointment_id)
        if parties is None:
            return
        title = "Your visit summary is ready"
        body = f"From your visit with {parties.visit.doctor_name}."
        await self._notify(parties, parties.patient, "summary_ready", title, body, parties.visit.id)
        if self.mailer is not None:
            await self.mailer.summary_ready(parties.visit, parties.patient)
