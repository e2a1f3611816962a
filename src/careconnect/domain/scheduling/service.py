"""The scheduling service: the doctor directory, a doctor's availability, free slots, and booking,
rescheduling and cancelling, each announced to its patient and doctor once it is written.

The rules live in the modules beneath: ``directory`` (who is listed), ``availability`` (stored
hours, free slots, the write transaction), ``slots`` (pure slot generation), ``booking`` (the
writes the database referees). This class checks the request's values, calls them in order, and
emits the events; it never sees HTTP.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from careconnect.domain.appointments.queries import owned
from careconnect.domain.errors import invalid
from careconnect.domain.notifications.inbox import push
from careconnect.domain.scheduling import booking, directory
from careconnect.domain.scheduling.availability import free_slots, rules_of, save_rules
from careconnect.domain.scheduling.schemas import (
    AvailabilityRules,
    BookingIn,
    CancelIn,
    DoctorCard,
    DoctorPage,
    Slot,
    SlotList,
    SpecialtyList,
)
from careconnect.hub.bounds import storable
from careconnect.instants import instant

if TYPE_CHECKING:
    from careconnect.domain.appointments.schemas import AppointmentOut
    from careconnect.domain.notifications.visit_mail import VisitMails
    from careconnect.domain.webhooks.events import WebhookEvents
    from careconnect.events import Events
    from careconnect.principal import Principal

UTC = dt.UTC
MAX_RANGE = dt.timedelta(days=31)
"""The longest range of slots one request may ask for."""
DEFAULT_RANGE = dt.timedelta(days=7)


def _doctor_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid("doctor_id", "not a doctor id") from None


def _idempotency_key(key: str | None) -> str | None:
    if key is not None and (not 1 <= len(key) <= 200 or not storable(key)):
        raise invalid("Idempotency-Key", "1 to 200 characters, no NUL")
    return key


class SchedulingService:
    """Directory, availability, slots and bookings.

    Args:
        events: where booking, rescheduling and cancelling are announced (after the write).
        mails: the mails each of them queues inside its write transaction (none when omitted).
    """

    def __init__(self, events: Events, mails: VisitMails | None = None, webhooks: WebhookEvents | None = None) -> None:
        self.events = events
        self.mails = mails
        self.webhooks = webhooks  # webhook events, queued in the same transactions

    async def directory(
        self, *, q: str | None = None, specialty: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> DoctorPage:
        """Listed doctors by name or specialty, a page at a time."""
        return await directory.search(q, specialty, limit=limit, cursor=cursor)

    async def specialties(self) -> SpecialtyList:
        """The specialties of listed doctors, once each, for a search's select."""
        return await directory.specialties()

    async def doctor(self, viewer: Principal, doctor_id: str) -> DoctorCard:
        """One listed doctor's card (their own too, while under review); else ``NotFound``.

        From the replica, except the doctor's own card (read-your-writes)."""
        stale_ok = directory.seen_by_others(viewer.id, doctor_id)
        row = await directory.listed_doctor(viewer.id, doctor_id, stale_ok=stale_ok)
        return await directory.card(row, stale_ok=stale_ok)

    async def availability(self, doctor: Principal) -> AvailabilityRules:
        """The doctor's own hours, slot length and exceptions."""
        return await rules_of(doctor.id)

    async def set_availability(self, doctor: Principal, rules: AvailabilityRules) -> AvailabilityRules:
        """Store the doctor's rules (``Invalid`` with field errors); bookings are never cancelled by it."""
        return await save_rules(doctor.id, rules)

    async def slots(
        self, viewer: Principal, doctor_id: str, start: dt.datetime | None = None, end: dt.datetime | None = None
    ) -> SlotList:
        """Free slots starting in [start, end): from now and for a week unless given, at most 31 days.

        From the replica, except the doctor's own (their hours may just have changed): a slot
        taken a moment ago may still show as free, and booking it answers 409 ``slot_taken``,
        decided on the primary like any race."""
        stale_ok = directory.seen_by_others(viewer.id, doctor_id)
        row = await directory.listed_doctor(viewer.id, doctor_id, stale_ok=stale_ok)
        start = instant(start, "from") if start else dt.datetime.now(UTC)
        end = instant(end, "to") if end else start + DEFAULT_RANGE
        if end <= start:
            raise invalid("to", "must be after from")
        if end - start > MAX_RANGE:
            raise invalid("to", "at most 31 days after from")
        rules, found = await free_slots(str(row["user"]), start, end, stale_ok=stale_ok)
        return SlotList(timezone=rules.timezone, slot_minutes=rules.slot_minutes, slots=[Slot(s, e) for s, e in found])

    async def book(
        self, patient: Principal, request: BookingIn, idempotency_key: str | None = None
    ) -> tuple[AppointmentOut, bool]:
        """Book a slot; returns (appointment, created). A repeated key answers the first booking.

        Raises:
            Invalid: a malformed doctor id, instant or key; an unknown doctor or a time not offered.
            Conflict: ``slot_taken``, or ``conflict`` (the patient's overlap, a key reused for another booking).
        """
        appointment, created = await booking.book(
            patient.id,
            _doctor_id(request.doctor_id),
            instant(request.starts_at, "starts_at"),
            request.reason.strip(),
            _idempotency_key(idempotency_key),
            self.mails,
            self.webhooks,
        )
        if created:
            await self._announce(appointment)
        return appointment, created

    async def reschedule(self, patient: Principal, appointment_id: str, starts_at: dt.datetime) -> AppointmentOut:
        """Move the patient's booked appointment to another free slot of the same doctor, atomically."""
        row = await owned(patient, appointment_id)
        appointment = await booking.reschedule(
            str(row["id"]), patient.id, instant(starts_at, "starts_at"), self.mails, self.webhooks
        )
        await self._announce(appointment)
        return appointment

    async def cancel(
        self, principal: Principal, appointment_id: str, request: CancelIn | None = None
    ) -> AppointmentOut:
        """Cancel before the start (the patient or the doctor); the slot is free again at once."""
        row = await owned(principal, appointment_id)
        reason = request.reason.strip() if request and request.reason else None
        appointment = await booking.cancel(str(row["id"]), principal.role, reason, self.mails, self.webhooks)
        await self._announce(appointment)
        await self.events.room_state_changed(appointment.id, "cancelled")
        return appointment

    async def _announce(self, appointment: AppointmentOut) -> None:
        await self.events.appointment_changed(appointment, [appointment.patient.id, appointment.doctor.id])
        if self.mails is not None:  # the notifications the committed write stored
            await push(self.events, self.mails.pending)
