"""Booking, rescheduling and cancelling appointments.

The database decides who gets a slot (see docs/scheduling.md): every write runs in
``write_transaction()``; the checks inside it give friendly errors, and the partial unique index
and exclusion constraints refuse whatever a race lets through. A refused write changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import TYPE_CHECKING

from careconnect.db import write_transaction
from careconnect.domain.appointments.queries import appointment_out
from careconnect.domain.appointments.schemas import AppointmentOut
from careconnect.domain.appointments.state import transition
from careconnect.domain.errors import Conflict, DomainError, NotFound
from careconnect.domain.scheduling.availability import (
    FREES_SLOT,
    offered_slot,
    patient_overlap,
    slot_taken,
    violated_constraint,
)
from careconnect.domain.scheduling.slots import Interval
from careconnect.tables.scheduling import Appointment, BookingKey

if TYPE_CHECKING:
    from piccolo.custom_types import Combinable

    from careconnect.domain.notifications.visit_mail import VisitMails
    from careconnect.domain.webhooks.events import WebhookEvents

UTC = dt.UTC


def _overlapping(slot: Interval) -> Combinable:
    return (Appointment.status != FREES_SLOT) & (Appointment.starts_at < slot[1]) & (Appointment.ends_at > slot[0])


async def _refuse_clashes(patient_id: str, doctor_id: str, slot: Interval, *, moving: str | None = None) -> None:
    """Inside the write transaction: friendly 409s for what the constraints would refuse anyway."""
    mine = Appointment.exists().where((Appointment.patient == patient_id) & _overlapping(slot))
    theirs = Appointment.exists().where((Appointment.doctor == doctor_id) & _overlapping(slot))
    if moving is not None:
        mine = mine.where(Appointment.id != moving)
        theirs = theirs.where(Appointment.id != moving)
    if await theirs:
        raise slot_taken()
    if await mine:
        raise patient_overlap()


def _refusal(exc: BaseException) -> Conflict | None:
    """The 409 for a write a booking constraint refused; None for any other error."""
    broken = violated_constraint(exc)
    if broken == "doctor_slot":
        return slot_taken()
    if broken == "patient_overlap":
        return patient_overlap()
    if broken == "booking_key":
        return Conflict("This Idempotency-Key is already in use.")
    return None


def _fingerprint(doctor_id: str, starts_at: dt.datetime, reason: str) -> str:
    return hashlib.sha256(f"{doctor_id}|{starts_at.astimezone(UTC).isoformat()}|{reason}".encode()).hexdigest()


async def _by_key(patient_id: str, key: str, fingerprint: str) -> AppointmentOut | None:
    row = (
        await BookingKey.select(BookingKey.appointment, BookingKey.request_hash)
        .where((BookingKey.patient == patient_id) & (BookingKey.key == key))
        .first()
    )
    if row is None:
        return None
    if row["request_hash"] != fingerprint:
        raise Conflict("This Idempotency-Key was used for a different booking; use a new key.")
    return await appointment_out(row["appointment"])


async def book(
    patient_id: str,
    doctor_id: str,
    starts_at: dt.datetime,
    reason: str,
    idempotency_key: str | None = None,
    mails: VisitMails | None = None,
    webhooks: WebhookEvents | None = None,
) -> tuple[AppointmentOut, bool]:
    """Book the slot starting at ``starts_at``; returns (appointment, created).

    A repeated ``Idempotency-Key`` from the same patient returns the first booking (created is
    False), even when the two requests race; the same key with another request is 409 ``conflict``.

    Raises:
        Invalid: an unknown doctor, or a time that is not an offered slot.
        Conflict: ``slot_taken`` when someone holds it, ``conflict`` when the patient has an
            overlapping appointment or the key was used for another booking.
    """
    fingerprint = _fingerprint(doctor_id, starts_at, reason)
    if idempotency_key and (previous := await _by_key(patient_id, idempotency_key, fingerprint)):
        return previous, False
    slot = await offered_slot(doctor_id, starts_at)
    appointment_id = str(uuid.uuid4())
    now = dt.datetime.now(UTC)
    for attempt in range(_DEADLOCK_RETRIES + 1):
        try:
            await _insert_booking(
                patient_id, doctor_id, slot, reason, appointment_id, now, idempotency_key, fingerprint, mails, webhooks
            )
            break
        except Exception as exc:
            if _deadlocked(exc) and attempt < _DEADLOCK_RETRIES:
                continue  # the racing twin has committed by now: the retry meets its constraint instead
            refusal = exc if isinstance(exc, DomainError) else _refusal(exc)
            if refusal is None:
                raise
            # A concurrent retry with the same key lost the race to its twin: answer the twin's booking.
            if idempotency_key and (previous := await _by_key(patient_id, idempotency_key, fingerprint)):
                return previous, False
            raise refusal from None
    return await appointment_out(appointment_id), True


# PostgreSQL may break a tie between two bookings that each hold one exclusion constraint's lock
# (the doctor's slot, the patient's hour) by failing one with a deadlock; it is retried.
_DEADLOCK_RETRIES = 2


def _deadlocked(exc: BaseException) -> bool:
    return any(cls.__name__ in ("DeadlockDetectedError", "SerializationError") for cls in type(exc).__mro__)


async def _insert_booking(
    patient_id: str,
    doctor_id: str,
    slot: tuple[dt.datetime, dt.datetime],
    reason: str,
    appointment_id: str,
    now: dt.datetime,
    idempotency_key: str | None,
    fingerprint: str,
    mails: VisitMails | None = None,
    webhooks: WebhookEvents | None = None,
) -> None:
    """One booking in one write transaction (its mails queued in it); the constraints refuse a
    clash the checks missed."""
    async with write_transaction():
        await _refuse_clashes(patient_id, doctor_id, slot)
        await Appointment.insert(
            Appointment(
                id=appointment_id,
                patient=patient_id,
                doctor=doctor_id,
                starts_at=slot[0],
                ends_at=slot[1],
                status="booked",
                reason=reason,
                created_at=now,
            )
        )
        if idempotency_key:
            await BookingKey.insert(
                BookingKey(
                    patient=patient_id,
                    key=idempotency_key,
                    request_hash=fingerprint,
                    appointment=appointment_id,
                    created_at=now,
                )
            )
        if mails is not None:
            await mails.booked(appointment_id)
        if webhooks is not None:
            await webhooks.appointment("appointment.booked", appointment_id)


async def reschedule(
    appointment_id: str,
    patient_id: str,
    starts_at: dt.datetime,
    mails: VisitMails | None = None,
    webhooks: WebhookEvents | None = None,
) -> AppointmentOut:
    """Move the patient's booked appointment to another slot of the same doctor, atomically.

    One UPDATE changes the times: if the new slot is taken the database refuses it and the
    appointment keeps its old slot; the old slot is free only once the new one is held.
    """
    row = (
        await Appointment.select(Appointment.doctor, Appointment.status, Appointment.starts_at)
        .where((Appointment.id == appointment_id) & (Appointment.patient == patient_id))
        .first()
    )
    if row is None:
        raise NotFound("No such appointment.")
    if row["status"] != "booked":
        raise Conflict(f"An appointment that is {row['status']} cannot be rescheduled.", code="invalid_state")
    slot = await offered_slot(str(row["doctor"]), starts_at)
    now = dt.datetime.now(UTC)
    try:
        async with write_transaction():
            await _refuse_clashes(patient_id, str(row["doctor"]), slot, moving=appointment_id)
            moved = (
                await Appointment.update({Appointment.starts_at: slot[0], Appointment.ends_at: slot[1]})
                .where(
                    (Appointment.id == appointment_id)
                    & (Appointment.status == "booked")
                    & (Appointment.starts_at > now)
                )
                .returning(Appointment.id)
            )
            if not moved:
                raise Conflict("This appointment has started or changed; it cannot be moved.", code="invalid_state")
            if mails is not None and slot[0] != row["starts_at"]:
                await mails.rescheduled(appointment_id, row["starts_at"])
            if webhooks is not None and slot[0] != row["starts_at"]:
                await webhooks.appointment("appointment.rescheduled", appointment_id)
    except Exception as exc:
        refusal = exc if isinstance(exc, DomainError) else _refusal(exc)
        if refusal is None:
            raise
        raise refusal from None
    return await appointment_out(appointment_id)


async def cancel(
    appointment_id: str,
    by_role: str,
    reason: str | None,
    mails: VisitMails | None = None,
    webhooks: WebhookEvents | None = None,
) -> AppointmentOut:
    """Cancel before the start (patient or doctor); the slot is free again at once. The other
    side's mail is queued in the same transaction."""
    async with write_transaction():
        await transition(
            appointment_id,
            "cancelled",
            {Appointment.cancelled_reason: reason or "", Appointment.cancelled_by: by_role},
            condition=Appointment.starts_at > dt.datetime.now(UTC),
            refusal="An appointment can only be cancelled before it starts.",
        )
        if mails is not None:
            await mails.cancelled(appointment_id, by_role)
        if webhooks is not None:
            await webhooks.status_changed(appointment_id, "cancelled")
    return await appointment_out(appointment_id)
