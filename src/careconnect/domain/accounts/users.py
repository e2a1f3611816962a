"""Accounts: creating users and doctors, and shaping them for the API."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import TYPE_CHECKING, Any

from piccolo.engine.base import Engine

from careconnect.domain.accounts.schemas import DoctorInfo, DoctorOut, PatientInfo, UserOut, UserPatch, Verification
from careconnect.domain.audit.service import record
from careconnect.domain.errors import Conflict, Invalid, invalid, not_found
from careconnect.security import hash_password
from careconnect.tables import DoctorProfile, User

if TYPE_CHECKING:
    from collections.abc import Mapping

    from careconnect.principal import Principal

_EMAIL_TAKEN = "An account with this email already exists."


def check_timezone(name: str, field: str = "timezone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise invalid(field, f"{name!r} is not an IANA time zone such as Europe/Paris") from None
    return name


def parse_uuid(value: str, what: str = "resource") -> str:
    """An id from a path: anything that is not a UUID simply names nothing (404)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError):
        raise not_found(what) from None


async def create_user(
    *,
    email: str,
    password: str | None,
    full_name: str,
    role: str,
    timezone: str = "UTC",
    doctor: DoctorInfo | None = None,
    verification: Verification = "approved",
    email_verified: bool = False,
) -> dict[str, Any]:
    """Insert a user (and doctor profile) in one transaction; a taken email is 409 ``conflict``.

    ``verification`` is the doctor's vetting state: ``pending`` for a self-registered doctor under
    DOCTOR_REGISTRATION=review, ``approved`` for everyone an admin, the seed or an open
    registration makes. ``email_verified``: true for accounts an operator vouches for (an admin,
    ``create-admin``, the seed and the load test); a self-registered address is unproven until a
    verification link or a password reset is followed.
    """
    email = email.strip().lower()
    if await User.exists().where(User.email == email):
        raise Conflict(_EMAIL_TAKEN)
    user_id = uuid.uuid4()
    password_hash = await hash_password(password) if password else ""  # no lock held while hashing
    engine: Engine[Any] = User._meta.db
    try:
        async with engine.transaction():
            await User.insert(
                User(
                    id=user_id,
                    email=email,
                    password_hash=password_hash,
                    full_name=full_name.strip(),
                    role=role,
                    timezone=timezone,
                    created_at=dt.datetime.now(dt.UTC),
                    email_verified=email_verified,
                )
            )
            if doctor is not None:
                await DoctorProfile.insert(
                    DoctorProfile(
                        user=user_id,
                        specialty=doctor.specialty.strip(),
                        bio=doctor.bio,
                        languages=doctor.languages,
                        license_number=doctor.license_number,
                        verification=verification,
                    )
                )
    except Exception as exc:  # a concurrent registration of the same email
        if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
            raise Conflict(_EMAIL_TAKEN) from None
        raise
    row = await User.select().where(User.id == user_id).first()
    assert row is not None
    return row


def _languages(raw: Any) -> list[str]:
    if isinstance(raw, str):
        import json

        raw = json.loads(raw or "[]")
    return [str(x) for x in raw or []]


async def doctor_info(user_id: Any) -> DoctorOut | None:
    row = await DoctorProfile.select().where(DoctorProfile.user == user_id).first()
    if row is None:
        return None
    return DoctorOut(
        specialty=row["specialty"],
        bio=row["bio"],
        languages=_languages(row["languages"]),
        license_number=row["license_number"],
        verification=row["verification"],
    )


async def user_out(row: dict[str, Any]) -> UserOut:
    doctor = await doctor_info(row["id"]) if row["role"] == "doctor" else None
    patient = PatientInfo(share_history=bool(row.get("share_history"))) if row["role"] == "patient" else None
    return UserOut(
        id=str(row["id"]),
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        timezone=row["timezone"],
        created_at=row["created_at"],
        doctor=doctor,
        patient=patient,
        disabled=row["disabled_at"] is not None,
        email_verified=bool(row.get("email_verified")),
    )


async def update_account(
    principal: Principal, patch: UserPatch, *, scope: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Apply ``PATCH /users/me`` all or nothing, and return the account row.

    Every part is checked before anything is written (a patient sending ``doctor`` is 422 and
    keeps their old name too); the writes, and the audit entry of a history-sharing change, then
    run in one transaction.
    """
    errors: list[dict[str, str]] = []
    user_values: dict[Any, Any] = {}
    doctor_values: dict[Any, Any] = {}
    if patch.full_name is not None:
        if patch.full_name.strip():
            user_values[User.full_name] = patch.full_name.strip()
        else:
            errors.append({"field": "full_name", "message": "must not be blank"})
    if patch.timezone is not None:
        try:
            user_values[User.timezone] = check_timezone(patch.timezone)
        except Invalid:
            errors.append({"field": "timezone", "message": f"{patch.timezone!r} is not an IANA time zone"})
    if patch.doctor is not None:
        if principal.role != "doctor":
            errors.append({"field": "doctor", "message": "only for doctor accounts"})
        for field in ("specialty", "bio", "languages", "license_number"):
            value = getattr(patch.doctor, field)
            if field == "specialty" and value is not None:
                value = value.strip()
                if not value:
                    errors.append({"field": "doctor.specialty", "message": "must not be blank"})
            if value is not None:
                doctor_values[getattr(DoctorProfile, field)] = value
    share = patch.patient.share_history if patch.patient is not None else None
    if patch.patient is not None and principal.role != "patient":
        errors.append({"field": "patient", "message": "only for patient accounts"})
    if errors:
        raise Invalid("The request has invalid fields; nothing was saved.", errors=errors)
    engine: Engine[Any] = User._meta.db
    async with engine.transaction():
        if share is not None:
            user_values[User.share_history] = share
        if user_values:
            await User.update(user_values).where(User.id == principal.id)
        if doctor_values:
            await DoctorProfile.update(doctor_values).where(DoctorProfile.user == principal.id)
        if share is not None:
            await record(
                actor=principal,
                action="history.share" if share else "history.unshare",
                resource_type="user",
                resource_id=principal.id,
                patient_id=principal.id,
                outcome="success",
                scope=scope,
            )
    row = await User.select().where(User.id == principal.id).first()
    if row is None:
        raise not_found("user")
    return row
