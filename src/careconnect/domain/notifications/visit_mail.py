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
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from careconnect.domain.notifications.visits import visit_parties

if TYPE_CHECKING:
    from careconnect.domain.notifications.mailing import Mailer
    from careconnect.domain.notifications.schemas import Recipient, Role

CancelledBy = Literal["patient", "doctor", "admin", "system"]
_CANCELLED_BY: dict[str, CancelledBy] = {"patient": "patient", "doctor": "doctor", "admin": "admin"}


class VisitMails:
    """The visit events as mails. Args: the app's ``Mailer``."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

    async def booked(self, appointment_id: str) -> None:
        parties = await visit_parties(appointment_id)
        if parties is None:
            return
        await self.mailer.booking_confirmed(parties.visit, parties.patient, role="patient")
        await self.mailer.booking_confirmed(parties.visit, parties.doctor, role="doctor")
        await self.mailer.schedule_reminders(parties.visit, [(parties.patient, "patient"), (parties.doctor, "doctor")])

    async def rescheduled(self, appointment_id: str, previous_starts_at: dt.datetime) -> None:
        parties = await visit_parties(appointment_id)
        if parties is None:
            return
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
        if by != "patient":
            await self.mailer.visit_cancelled(parties.visit, parties.patient, role="patient", cancelled_by=by)
        if by != "doctor":
            await self.mailer.visit_cancelled(parties.visit, parties.doctor, role="doctor", cancelled_by=by)
        await self.mailer.cancel_reminders(parties.visit.id)

    async def summary_ready(self, appointment_id: str) -> None:
        parties = await visit_parties(appointment_id)
        if parties is None:
            return
        await self.mailer.summary_ready(parties.visit, parties.patient)
