"""Doctor vetting: who counts as an approved doctor, and an admin's review of the others.

Under ``DOCTOR_REGISTRATION=review`` a self-registered doctor starts ``pending``. Until an admin
approves them they are not in the directory, cannot be booked and see no patient data; they can
still sign in, set their availability and read their own account. ``rejected`` stays out.
Every check is a query on ``cc_doctor_profile.verification`` (the account, never the token).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from careconnect.domain.accounts.schemas import UserPage, Verification
from careconnect.domain.accounts.users import parse_uuid, user_out
from careconnect.domain.errors import NotFound, invalid, not_found
from careconnect.pagination import clamp_limit, decode_cursor, encode_cursor
from careconnect.tables import DoctorProfile, User
from careconnect.tables.scheduling import Appointment

APPROVED: Verification = "approved"
Decision = Literal["approved", "rejected"]
_NOT_A_CURSOR = "not a cursor this server gave out"


def approved_doctors() -> Any:
    """A sub-select of the ids of approved doctors, for ``column.is_in(approved_doctors())``."""
    return DoctorProfile.select(DoctorProfile.user).where(DoctorProfile.verification == APPROVED)


def approved_doctor(doctor_id: Any) -> Any:
    """The clause "this doctor id belongs to an approved doctor", for appointment queries."""
    return DoctorProfile.exists().where((DoctorProfile.user == doctor_id) & (DoctorProfile.verification == APPROVED))


async def is_approved(doctor_id: Any) -> bool:
    return bool(await approved_doctor(doctor_id))


async def decide(doctor_id: str, decision: Decision) -> dict[str, Any]:
    """Set a doctor's verification (approve or reject; either may be reversed later); 404 if no such doctor."""
    uid = parse_uuid(doctor_id, "doctor")
    updated = (
        await DoctorProfile.update({DoctorProfile.verification: decision})
        .where(DoctorProfile.user == uid)
        .returning(DoctorProfile.user)
    )
    if not updated:
        raise not_found("doctor")
    row = await User.select().where(User.id == uid).first()
    assert row is not None
    return row


async def live_appointments_of(doctor_id: str) -> list[str]:
    """The doctor's appointments that are not cancelled: the rooms to evict a rejected doctor from."""
    rows = await Appointment.select(Appointment.id).where(
        (Appointment.doctor == doctor_id) & (Appointment.status != "cancelled")
    )
    return [str(r["id"]) for r in rows]


def _after(cursor: str) -> Any:
    at_raw, last_id = decode_cursor(cursor, 2)
    try:
        at = dt.datetime.fromisoformat(at_raw)
        last_id = parse_uuid(last_id)
    except (TypeError, ValueError, NotFound):
        raise invalid("cursor", _NOT_A_CURSOR) from None
    if at.tzinfo is None:
        raise invalid("cursor", _NOT_A_CURSOR)
    return (DoctorProfile.user.created_at > at) | (
        (DoctorProfile.user.created_at == at) & (DoctorProfile.user.id > last_id)
    )


async def doctors_page(verification: Verification | None, *, limit: int | None, cursor: str | None) -> UserPage:
    """Doctors by verification, longest waiting first (registration time, then id)."""
    size = clamp_limit(limit)
    query = DoctorProfile.select(DoctorProfile.user, DoctorProfile.user.created_at.as_alias("registered_at"))
    if verification is not None:
        query = query.where(DoctorProfile.verification == verification)
    if cursor:
        query = query.where(_after(cursor))
    rows = await query.order_by(DoctorProfile.user.created_at).order_by(DoctorProfile.user.id).limit(size + 1)
    ids = [r["user"] for r in rows[:size]]
    users = {str(u["id"]): u for u in await User.select().where(User.id.is_in(ids))} if ids else {}
    items = [await user_out(users[str(i)]) for i in ids if str(i) in users]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = encode_cursor(last["registered_at"].isoformat(), str(last["user"]))
    return UserPage(items=items, next_cursor=next_cursor)
