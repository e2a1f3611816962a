"""Accounts: creating users and doctors, and shaping them for the API."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from piccolo.engine.base import Engine

from careconnect.errors import ApiError, validation_error
from careconnect.schemas import DoctorInfo, UserOut
from careconnect.security import hash_password
from careconnect.tables import DoctorProfile, User


def check_timezone(name: str, field: str = "timezone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise validation_error(field, f"{name!r} is not an IANA time zone such as Europe/Paris") from None
    return name


def parse_uuid(value: str, what: str = "resource") -> str:
    """An id from a path: anything that is not a UUID simply names nothing (404)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError):
        raise ApiError(404, "not_found", f"No such {what}.") from None


async def create_user(
    *,
    email: str,
    password: str | None,
    full_name: str,
    role: str,
    timezone: str = "UTC",
    doctor: DoctorInfo | None = None,
) -> dict[str, Any]:
    """Insert a user (and doctor profile) in one transaction; a taken email is 409 ``conflict``."""
    email = email.strip().lower()
    if await User.exists().where(User.email == email):
        raise ApiError(409, "conflict", "An account with this email already exists.")
    user_id = uuid.uuid4()
    engine: Engine = User._meta.db
    try:
        async with engine.transaction():
            await User.insert(
                User(
                    id=user_id,
                    email=email,
                    password_hash=hash_password(password) if password else "",
                    full_name=full_name.strip(),
                    role=role,
                    timezone=timezone,
                    created_at=dt.datetime.now(dt.UTC),
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
                    )
                )
    except Exception as exc:  # a concurrent registration of the same email
        if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
            raise ApiError(409, "conflict", "An account with this email already exists.") from None
        raise
    row = await User.select().where(User.id == user_id).first()
    assert row is not None
    return row


def _languages(raw: Any) -> list[str]:
    if isinstance(raw, str):
        import json

        raw = json.loads(raw or "[]")
    return [str(x) for x in raw or []]


async def doctor_info(user_id: Any) -> DoctorInfo | None:
    row = await DoctorProfile.select().where(DoctorProfile.user == user_id).first()
    if row is None:
        return None
    return DoctorInfo(
        specialty=row["specialty"],
        bio=row["bio"],
        languages=_languages(row["languages"]),
        license_number=row["license_number"],
    )


async def user_out(row: dict[str, Any]) -> UserOut:
    doctor = await doctor_info(row["id"]) if row["role"] == "doctor" else None
    return UserOut(
        id=str(row["id"]),
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        timezone=row["timezone"],
        created_at=row["created_at"],
        doctor=doctor,
        disabled=row["disabled_at"] is not None,
    )
