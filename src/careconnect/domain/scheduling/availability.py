"""A doctor's stored availability, their free slots, and the database rules bookings rely on.

``write_transaction()`` is the one way bookings, reschedules and intake writes touch the
appointment table: on SQLite it is ``BEGIN IMMEDIATE`` (the database's single write lock is
taken before the first read, so a check and the write after it cannot interleave with another
writer); on PostgreSQL an ordinary transaction, where the partial unique index and the
exclusion constraints decide races. ``violated_constraint()`` names which rule a refused write
broke, on either engine.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Literal

import msgspec

from careconnect.db import from_replica
from careconnect.domain.admin.vetting import is_approved
from careconnect.domain.errors import Conflict, Invalid
from careconnect.domain.scheduling import slots
from careconnect.domain.scheduling.schemas import AvailabilityRules
from careconnect.tables import User
from careconnect.tables.scheduling import Appointment, Availability

UTC = dt.UTC
FREES_SLOT = "cancelled"
"""The one status that gives a slot back; every other status keeps holding it (as the indexes do)."""
LONGEST_SLOT = dt.timedelta(minutes=120)

Constraint = Literal["doctor_slot", "patient_overlap", "booking_key"]
# Index and constraint names (PostgreSQL reports them) and SQLite's "UNIQUE constraint failed:" columns.
_CONSTRAINTS: dict[str, Constraint] = {
    "cc_appointment_doctor_slot": "doctor_slot",
    "cc_appointment_doctor_no_overlap": "doctor_slot",
    "cc_appointment.doctor, cc_appointment.starts_at": "doctor_slot",
    "cc_appointment_patient_no_overlap": "patient_overlap",
    "cc_booking_key_patient_key": "booking_key",
    "cc_booking_key.patient, cc_booking_key.key": "booking_key",
}


def violated_constraint(exc: BaseException) -> Constraint | None:
    """Which booking rule a failed write broke, or None when the error is something else."""
    name = getattr(exc, "constraint_name", None)  # asyncpg's UniqueViolationError / ExclusionViolationError
    if isinstance(name, str):
        return _CONSTRAINTS.get(name)
    if isinstance(exc, sqlite3.IntegrityError):
        detail = str(exc).removeprefix("UNIQUE constraint failed: ")
        return _CONSTRAINTS.get(detail)
    return None


def slot_taken() -> Conflict:
    return Conflict("That slot was just taken; pick another (GET /doctors/{id}/slots).", code="slot_taken")


def patient_overlap() -> Conflict:
    return Conflict("You already have an appointment at that time; cancel or move it first.")


async def rules_of(doctor_id: str, *, stale_ok: bool = False) -> AvailabilityRules:
    """The doctor's availability; before they set any, their own zone, 30-minute slots and no hours.

    ``stale_ok``: read from the replica (the directory's reads, ``careconnect.db.from_replica``)."""
    row = await from_replica(Availability.select().where(Availability.doctor == doctor_id).first(), stale_ok=stale_ok)
    if row is None:
        user = await from_replica(User.select(User.timezone).where(User.id == doctor_id).first(), stale_ok=stale_ok)
        zone = user["timezone"] if user and slots.is_zone(user["timezone"]) else "UTC"
        return AvailabilityRules(timezone=zone, slot_minutes=30, weekly=[], exceptions=[])
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
        AvailabilityRules,
    )


async def save_rules(doctor_id: str, rules: AvailabilityRules) -> AvailabilityRules:
    """Validate and store (one row per doctor, upserted). Existing appointments are never touched."""
    errors = slots.problems(rules)
    if errors:
        raise Invalid("The availability has invalid fields.", errors=errors)
    row = Availability(
        doctor=doctor_id,
        timezone=rules.timezone,
        slot_minutes=rules.slot_minutes,
        min_notice_minutes=rules.min_notice_minutes,
        horizon_days=rules.horizon_days,
        weekly=msgspec.to_builtins(rules.weekly),
        exceptions=msgspec.to_builtins(rules.exceptions),
        updated_at=dt.datetime.now(UTC),
    )
    columns = (
        Availability.timezone,
        Availability.slot_minutes,
        Availability.min_notice_minutes,
        Availability.horizon_days,
        Availability.weekly,
        Availability.exceptions,
        Availability.updated_at,
    )
    await Availability.insert(row).on_conflict(target=Availability.doctor, action="DO UPDATE", values=columns)
    return await rules_of(doctor_id)


async def busy_intervals(
    doctor_id: str, start: dt.datetime, end: dt.datetime, *, ignore: str | None = None, stale_ok: bool = False
) -> list[slots.Interval]:
    """The doctor's appointments (not cancelled) that overlap slots starting in [start, end)."""
    query = Appointment.select(Appointment.starts_at, Appointment.ends_at).where(
        (Appointment.doctor == doctor_id)
        & (Appointment.status != FREES_SLOT)
        & (Appointment.starts_at < end + LONGEST_SLOT)
        & (Appointment.ends_at > start)
    )
    if ignore is not None:
        query = query.where(Appointment.id != ignore)
    return [(r["starts_at"], r["ends_at"]) for r in await from_replica(query, stale_ok=stale_ok)]


async def free_slots(
    doctor_id: str, start: dt.datetime, end: dt.datetime, *, now: dt.datetime | None = None, stale_ok: bool = False
) -> tuple[AvailabilityRules, list[slots.Interval]]:
    """The doctor's rules and their free, bookable slots starting in [start, end)."""
    rules = await rules_of(doctor_id, stale_ok=stale_ok)
    now = now or dt.datetime.now(UTC)
    busy = await busy_intervals(doctor_id, start, end, stale_ok=stale_ok)
    return rules, slots.generate(rules, start, end, now=now, busy=busy)


async def next_available(doctor_id: str, days: int = 31, *, stale_ok: bool = False) -> dt.datetime | None:
    """The first free slot within ``days`` (bounded so a directory page stays cheap)."""
    now = dt.datetime.now(UTC)
    end = now + dt.timedelta(days=days)
    rules = await rules_of(doctor_id, stale_ok=stale_ok)
    busy = await busy_intervals(doctor_id, now, end, stale_ok=stale_ok)
    found = slots.generate(rules, now, end, now=now, busy=busy, limit=1)
    return found[0][0] if found else None


async def offered_slot(doctor_id: str, starts_at: dt.datetime) -> slots.Interval:
    """The slot of an active doctor that starts at ``starts_at`` (taken or not), else ``Invalid``."""
    doctor = await User.select(User.role, User.disabled_at).where(User.id == doctor_id).first()
    if (
        doctor is None
        or doctor["role"] != "doctor"
        or doctor["disabled_at"] is not None
        or not await is_approved(doctor_id)  # pending or rejected doctors are not bookable
    ):
        raise Invalid("No such doctor.", errors=[{"field": "doctor_id", "message": "unknown doctor"}])
    slot = slots.slot_of(await rules_of(doctor_id), starts_at, now=dt.datetime.now(UTC))
    if slot is None:
        raise Invalid(
            "That time is not a slot this doctor offers.",
            errors=[{"field": "starts_at", "message": "not an offered slot (see GET /doctors/{id}/slots)"}],
        )
    return slot
