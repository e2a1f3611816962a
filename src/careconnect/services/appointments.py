"""Booking, cancelling and rescheduling appointments, and shaping them for the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import msgspec
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from careconnect.errors import ApiError
from careconnect.services import slots
from careconnect.services.appointment_state import transition
from careconnect.tables import DoctorProfile, User
from careconnect.tables.scheduling import Appointment, Availability, BookingKey, Intake

UTC = dt.UTC


class PersonRef(msgspec.Struct, kw_only=True):
    id: str
    full_name: str


class DoctorRef(msgspec.Struct, kw_only=True):
    id: str
    full_name: str
    specialty: str


class AppointmentOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    patient: PersonRef
    doctor: DoctorRef
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    reason: str
    created_at: dt.datetime
    intake_submitted: bool
    cancelled_reason: str | None = None


DEFAULT_RULES = slots.AvailabilityRules(timezone="UTC", slot_minutes=30, weekly=[])


def rules_from_row(row: dict[str, Any] | None, fallback_timezone: str = "UTC") -> slots.AvailabilityRules:
    if row is None:
        return slots.AvailabilityRules(timezone=fallback_timezone, slot_minutes=30, weekly=[], exceptions=[])
    weekly, exceptions = row["weekly"], row["exceptions"]
    if isinstance(weekly, str):
        weekly = msgspec.json.decode(weekly)
    if isinstance(exceptions, str):
        exceptions = msgspec.json.decode(exceptions)
    return msgspec.convert(
        {
            "timezone": row["timezone"],
            "slot_minutes": row["slot_minutes"],
            "min_notice_minutes": row["min_notice_minutes"],
            "horizon_days": row["horizon_days"],
            "weekly": weekly,
            "exceptions": exceptions,
        },
        slots.AvailabilityRules,
    )


async def rules_of(doctor_id: str) -> slots.AvailabilityRules:
    row = await Availability.select().where(Availability.doctor == doctor_id).first()
    if row is None:
        user = await User.select(User.timezone).where(User.id == doctor_id).first()
        return rules_from_row(None, user["timezone"] if user else "UTC")
    return rules_from_row(row)


async def taken_starts(doctor_id: str, start: dt.datetime, end: dt.datetime) -> set[dt.datetime]:
    rows = await Appointment.select(Appointment.starts_at).where(
        (Appointment.doctor == doctor_id)
        & (Appointment.status != "cancelled")
        & (Appointment.starts_at >= start - dt.timedelta(hours=3))
        & (Appointment.starts_at < end)
    )
    return {r["starts_at"] for r in rows}


async def free_slots(doctor_id: str, start: dt.datetime, end: dt.datetime) -> tuple[slots.AvailabilityRules, list[Any]]:
    rules = await rules_of(doctor_id)
    now = dt.datetime.now(UTC)
    return rules, slots.generate(rules, start, end, now=now, taken=await taken_starts(doctor_id, start, end))


async def next_available(doctor_id: str, days: int = 14) -> dt.datetime | None:
    now = dt.datetime.now(UTC)
    _, found = await free_slots(doctor_id, now, now + dt.timedelta(days=days))
    return found[0][0] if found else None


async def appointment_out(appointment_id: Any) -> AppointmentOut:
    row = (
        await Appointment.select(
            Appointment.all_columns(),
            Appointment.patient.full_name.as_alias("patient_name"),
            Appointment.doctor.full_name.as_alias("doctor_name"),
        )
        .where(Appointment.id == appointment_id)
        .first()
    )
    if row is None:
        raise ApiError(404, "not_found", "No such appointment.")
    return (await shape([row]))[0]


async def shape(rows: list[dict[str, Any]]) -> list[AppointmentOut]:
    if not rows:
        return []
    doctor_ids = list({r["doctor"] for r in rows})
    specialties = {
        str(p["user"]): p["specialty"]
        for p in await DoctorProfile.select(DoctorProfile.user, DoctorProfile.specialty).where(
            DoctorProfile.user.is_in(doctor_ids)
        )
    }
    with_intake = {
        str(i["appointment"])
        for i in await Intake.select(Intake.appointment).where(Intake.appointment.is_in([r["id"] for r in rows]))
    }
    return [
        AppointmentOut(
            id=str(r["id"]),
            patient=PersonRef(id=str(r["patient"]), full_name=r["patient_name"]),
            doctor=DoctorRef(
                id=str(r["doctor"]), full_name=r["doctor_name"], specialty=specialties.get(str(r["doctor"]), "")
            ),
            starts_at=r["starts_at"],
            ends_at=r["ends_at"],
            status=r["status"],
            reason=r["reason"],
            created_at=r["created_at"],
            intake_submitted=str(r["id"]) in with_intake,
            cancelled_reason=r["cancelled_reason"],
        )
        for r in rows
    ]


def _transaction() -> Any:
    engine = Appointment._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def _is_unique_violation(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("unique", "duplicate", "exclusion", "conflicting key", "exclude"))


async def _check_slot(doctor_id: str, starts_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    doctor = await User.select(User.role, User.disabled_at).where(User.id == doctor_id).first()
    if doctor is None or doctor["role"] != "doctor" or doctor["disabled_at"] is not None:
        raise ApiError(
            422, "validation_error", "No such doctor.", errors=[{"field": "doctor_id", "message": "unknown doctor"}]
        )
    rules = await rules_of(doctor_id)
    slot = slots.slot_of(rules, starts_at, now=dt.datetime.now(UTC))
    if slot is None:
        raise ApiError(
            422,
            "validation_error",
            "That time is not a slot this doctor offers.",
            errors=[{"field": "starts_at", "message": "not an offered slot (see GET /doctors/{id}/slots)"}],
        )
    return slot


async def _insert(patient_id: str, doctor_id: str, slot: tuple[dt.datetime, dt.datetime], reason: str) -> str:
    """Insert inside the caller's transaction; the database refuses a taken slot or an overlap."""
    overlap = await Appointment.exists().where(
        (Appointment.patient == patient_id)
        & (Appointment.status.is_in(["booked", "checked_in", "in_progress"]))
        & (Appointment.starts_at < slot[1])
        & (Appointment.ends_at > slot[0])
    )
    if overlap:
        raise ApiError(409, "conflict", "You already have an appointment at that time.")
    appointment_id = str(uuid.uuid4())
    await Appointment.insert(
        Appointment(
            id=appointment_id,
            patient=patient_id,
            doctor=doctor_id,
            starts_at=slot[0],
            ends_at=slot[1],
            status="booked",
            reason=reason,
            created_at=dt.datetime.now(UTC),
        )
    )
    return appointment_id


def _taken_error(exc: BaseException) -> ApiError:
    if "overlap" in str(exc).lower():
        return ApiError(409, "conflict", "You already have an appointment at that time.")
    return ApiError(409, "slot_taken", "That slot was just taken; pick another.")


async def book(
    patient_id: str, doctor_id: str, starts_at: dt.datetime, reason: str, idempotency_key: str | None
) -> tuple[AppointmentOut, bool]:
    """Book a slot; returns (appointment, created). A repeated Idempotency-Key returns the first result."""
    request_hash = hashlib.sha256(f"{doctor_id}|{starts_at.astimezone(UTC).isoformat()}|{reason}".encode()).hexdigest()
    if idempotency_key:
        previous = await _by_key(patient_id, idempotency_key, request_hash)
        if previous is not None:
            return previous, False
    slot = await _check_slot(doctor_id, starts_at)
    try:
        async with _transaction():
            appointment_id = await _insert(patient_id, doctor_id, slot, reason)
            if idempotency_key:
                await BookingKey.insert(
                    BookingKey(
                        patient=patient_id,
                        key=idempotency_key,
                        request_hash=request_hash,
                        appointment=appointment_id,
                        created_at=dt.datetime.now(UTC),
                    )
                )
    except ApiError:
        raise
    except Exception as exc:
        if not _is_unique_violation(exc):
            raise
        if idempotency_key:
            previous = await _by_key(patient_id, idempotency_key, request_hash)
            if previous is not None:
                return previous, False
        raise _taken_error(exc) from None
    return await appointment_out(appointment_id), True


async def _by_key(patient_id: str, key: str, request_hash: str) -> AppointmentOut | None:
    row = (
        await BookingKey.select(BookingKey.appointment, BookingKey.request_hash)
        .where((BookingKey.patient == patient_id) & (BookingKey.key == key))
        .first()
    )
    if row is None:
        return None
    if row["request_hash"] != request_hash:
        raise ApiError(409, "conflict", "This Idempotency-Key was used for a different booking.")
    return await appointment_out(row["appointment"])


async def reschedule(appointment_id: str, patient_id: str, starts_at: dt.datetime) -> AppointmentOut:
    """Move to a new slot atomically: the old one is released only if the new one is taken."""
    row = (
        await Appointment.select()
        .where((Appointment.id == appointment_id) & (Appointment.patient == patient_id))
        .first()
    )
    if row is None:
        raise ApiError(404, "not_found", "No such appointment.")
    if row["status"] != "booked":
        raise ApiError(409, "invalid_state", f"An appointment that is {row['status']} cannot be rescheduled.")
    if row["starts_at"] <= dt.datetime.now(UTC):
        raise ApiError(409, "invalid_state", "This appointment has already started.")
    slot = await _check_slot(str(row["doctor"]), starts_at)
    try:
        async with _transaction():
            overlap = await Appointment.exists().where(
                (Appointment.patient == patient_id)
                & (Appointment.id != appointment_id)
                & (Appointment.status.is_in(["booked", "checked_in", "in_progress"]))
                & (Appointment.starts_at < slot[1])
                & (Appointment.ends_at > slot[0])
            )
            if overlap:
                raise ApiError(409, "conflict", "You already have an appointment at that time.")
            # One UPDATE: the unique index refuses a taken slot, and then nothing changed.
            moved = (
                await Appointment.update({Appointment.starts_at: slot[0], Appointment.ends_at: slot[1]})
                .where((Appointment.id == appointment_id) & (Appointment.status == "booked"))
                .returning(Appointment.id)
            )
            if not moved:
                raise ApiError(409, "invalid_state", "This appointment can no longer be rescheduled.")
    except ApiError:
        raise
    except Exception as exc:
        if not _is_unique_violation(exc):
            raise
        raise _taken_error(exc) from None
    return await appointment_out(appointment_id)


async def cancel(appointment_id: str, by_role: str, reason: str | None) -> AppointmentOut:
    row = (
        await Appointment.select(Appointment.starts_at, Appointment.status)
        .where(Appointment.id == appointment_id)
        .first()
    )
    if row is None:
        raise ApiError(404, "not_found", "No such appointment.")
    if row["starts_at"] <= dt.datetime.now(UTC) and row["status"] in ("booked", "checked_in"):
        raise ApiError(409, "invalid_state", "An appointment can only be cancelled before it starts.")
    await transition(
        appointment_id, "cancelled", {Appointment.cancelled_reason: reason or "", Appointment.cancelled_by: by_role}
    )
    return await appointment_out(appointment_id)
