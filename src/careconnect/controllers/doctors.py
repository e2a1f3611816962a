"""The doctor directory, free slots, and a doctor's own availability."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import JSONBody, Parameter, QueryParameter

from careconnect.db import is_postgres
from careconnect.domain.accounts.users import _languages, parse_uuid
from careconnect.domain.admin.vetting import APPROVED
from careconnect.domain.errors import NotFound
from careconnect.domain.scheduling import slots
from careconnect.domain.scheduling.availability import free_slots, next_available, rules_of, save_rules
from careconnect.errors import ApiError, validation_error
from careconnect.guards import current_principal, requires_auth, requires_doctor
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.hub.bounds import storable
from careconnect.instants import instant
from careconnect.pagination import clamp_limit, decode_cursor, encode_cursor
from careconnect.tables import DoctorProfile

UTC = dt.UTC
MAX_RANGE = dt.timedelta(days=31)


class DoctorCard(msgspec.Struct, kw_only=True):
    id: str
    full_name: str
    specialty: str
    bio: str
    languages: list[str]
    timezone: str
    next_available_at: dt.datetime | None


class DoctorPage(msgspec.Struct, kw_only=True):
    items: list[DoctorCard]
    next_cursor: str | None


class Slot(msgspec.Struct):
    starts_at: dt.datetime
    ends_at: dt.datetime


class SlotList(msgspec.Struct, kw_only=True):
    timezone: str
    slot_minutes: int
    slots: list[Slot]


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    return instant(value, field)


async def _card(row: dict[str, Any]) -> DoctorCard:
    rules = await rules_of(str(row["user"]))
    return DoctorCard(
        id=str(row["user"]),
        full_name=row["full_name"],
        specialty=row["specialty"],
        bio=row["bio"],
        languages=_languages(row["languages"]),
        timezone=rules.timezone,
        next_available_at=await next_available(str(row["user"])),
    )


def _contains(column: Any, pattern: str) -> Any:
    """Case-insensitive LIKE on both engines (SQLite's LIKE already ignores ASCII case)."""
    return column.ilike(pattern) if is_postgres(DoctorProfile._meta.db) else column.like(pattern)


def _literal(text: str) -> str:
    """Search text with LIKE's wildcards taken out, so "%" or "_" match nothing special."""
    return text.strip().replace("%", "").replace("_", "")


def _after(cursor: str) -> Any:
    name, last_id = decode_cursor(cursor, 2)
    if not isinstance(name, str) or not isinstance(last_id, str) or not storable(name):
        raise validation_error("cursor", "not a cursor this server gave out")
    try:
        last_id = parse_uuid(last_id)
    except (ApiError, NotFound):  # parse_uuid raises domain errors now (h16-accounts)
        raise validation_error("cursor", "not a cursor this server gave out") from None
    return (DoctorProfile.user.full_name > name) | (
        (DoctorProfile.user.full_name == name) & (DoctorProfile.user.id > last_id)
    )


def _directory(viewer: str | None = None) -> Any:
    """Active, approved doctors; ``viewer`` also sees their own card while pending or rejected."""
    approved = DoctorProfile.verification == APPROVED
    listed = approved if viewer is None else approved | (DoctorProfile.user == viewer)
    return (
        DoctorProfile.select(
            DoctorProfile.user,
            DoctorProfile.specialty,
            DoctorProfile.bio,
            DoctorProfile.languages,
            DoctorProfile.user.full_name.as_alias("full_name"),
        )
        .where(DoctorProfile.user.disabled_at.is_null())
        .where(listed)
    )


class DoctorsController(Controller):
    path = "/api/v1/doctors"
    tags = ["doctors"]
    guards = [requires_auth]

    @get("/", summary="Find doctors by name or specialty")
    async def list_doctors(
        self,
        q: Annotated[str | None, Parameter(max_length=100, pattern=TEXT)] = None,
        specialty: Annotated[str | None, Parameter(max_length=100, pattern=TEXT)] = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DoctorPage:
        size = clamp_limit(limit)
        query = _directory()
        if q and _literal(q):
            query = query.where(_contains(DoctorProfile.user.full_name, f"%{_literal(q)}%"))
        if specialty:
            query = query.where(_contains(DoctorProfile.specialty, _literal(specialty)))
        if cursor:
            query = query.where(_after(cursor))
        rows = await query.order_by(DoctorProfile.user.full_name).order_by(DoctorProfile.user.id).limit(size + 1)
        items = [await _card(r) for r in rows[:size]]
        next_cursor = (
            encode_cursor(rows[size - 1]["full_name"], str(rows[size - 1]["user"])) if len(rows) > size else None
        )
        return DoctorPage(items=items, next_cursor=next_cursor)

    @get("/me/availability", guards=[requires_doctor], summary="My weekly hours, slot length and exceptions")
    async def my_availability(self, request: Request[Any, Any, Any]) -> slots.AvailabilityRules:
        return await rules_of(current_principal(request).id)

    @put("/me/availability", guards=[requires_doctor], summary="Set my availability (never cancels bookings)")
    async def set_availability(
        self, request: Request[Any, Any, Any], data: JSONBody[slots.AvailabilityRules]
    ) -> slots.AvailabilityRules:
        return await save_rules(current_principal(request).id, data)

    @get("/{doctor_id:str}", summary="One doctor's card")
    async def one(self, request: Request[Any, Any, Any], doctor_id: str) -> DoctorCard:
        viewer = current_principal(request).id
        row = await _directory(viewer).where(DoctorProfile.user == parse_uuid(doctor_id, "doctor")).first()
        if row is None:
            raise ApiError(404, "not_found", "No such doctor.")
        return await _card(row)

    @get("/{doctor_id:str}/slots", summary="Free, bookable slots in a range of at most 31 days")
    async def free(
        self,
        request: Request[Any, Any, Any],
        doctor_id: str,
        from_: Annotated[dt.datetime | None, QueryParameter(name="from")] = None,
        to: dt.datetime | None = None,
    ) -> SlotList:
        doctor = parse_uuid(doctor_id, "doctor")
        if not await _directory(current_principal(request).id).where(DoctorProfile.user == doctor).first():
            raise ApiError(404, "not_found", "No such doctor.")
        start = _aware(from_, "from") if from_ else dt.datetime.now(UTC)
        end = _aware(to, "to") if to else start + dt.timedelta(days=7)
        if end <= start:
            raise validation_error("to", "must be after from")
        if end - start > MAX_RANGE:
            raise validation_error("to", "at most 31 days after from")
        rules, found = await free_slots(doctor, start, end)
        return SlotList(timezone=rules.timezone, slot_minutes=rules.slot_minutes, slots=[Slot(s, e) for s, e in found])
