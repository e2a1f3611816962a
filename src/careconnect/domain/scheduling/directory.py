"""The doctor directory: who is listed, the search, the keyset pages, and one doctor's card.

Listed means active (not disabled) and approved; a doctor also sees their own card while
their review is pending or rejected. The directory is read from the replica when there is one
(``careconnect.db.from_replica``), except a doctor's own card, which they may just have edited. Search text is matched literally (LIKE's wildcards are
taken out), case-insensitively on both engines: ``q`` is found anywhere in a name or at the
start of a word of the specialty ("cardio" finds Cardiology, "general" General practice),
``specialty`` is one whole specialty as ``specialties()`` lists it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from careconnect.db import from_replica, is_postgres
from careconnect.domain.accounts.users import _languages, parse_uuid
from careconnect.domain.admin.vetting import APPROVED
from careconnect.domain.errors import NotFound, invalid
from careconnect.domain.scheduling.availability import next_available, rules_of
from careconnect.domain.scheduling.schemas import DoctorCard, DoctorPage, Specialty, SpecialtyList
from careconnect.hub.bounds import storable
from careconnect.pagination import clamp_limit, decode_cursor, encode_cursor
from careconnect.tables import DoctorProfile

if TYPE_CHECKING:
    from piccolo.columns import Column
    from piccolo.custom_types import Combinable
    from piccolo.query.methods.select import Select

_BAD_CURSOR = "not a cursor this server gave out"


def _shown(query: Select[DoctorProfile], viewer: str | None) -> Select[DoctorProfile]:
    approved = DoctorProfile.verification == APPROVED
    shown = approved if viewer is None else approved | (DoctorProfile.user == viewer)
    return query.where(DoctorProfile.user.disabled_at.is_null()).where(shown)


def listed(viewer: str | None = None) -> Select[DoctorProfile]:
    """Active, approved doctors; ``viewer`` also sees their own card while pending or rejected."""
    return _shown(
        DoctorProfile.select(
            DoctorProfile.user,
            DoctorProfile.specialty,
            DoctorProfile.bio,
            DoctorProfile.languages,
            DoctorProfile.user.full_name.as_alias("full_name"),
        ),
        viewer,
    )


def _contains(column: Column, pattern: str) -> Combinable:
    """Case-insensitive LIKE on both engines (SQLite's LIKE already ignores ASCII case)."""
    return column.ilike(pattern) if is_postgres(DoctorProfile._meta.db) else column.like(pattern)


def _literal(text: str) -> str:
    """Search text with LIKE's wildcards taken out, so "%" or "_" match nothing special."""
    return text.strip().replace("%", "").replace("_", "")


def _after(cursor: str) -> Combinable:
    name, last_id = decode_cursor(cursor, 2)
    if not isinstance(name, str) or not isinstance(last_id, str) or not storable(name):
        raise invalid("cursor", _BAD_CURSOR)
    try:
        last_id = str(uuid.UUID(last_id))
    except ValueError:
        raise invalid("cursor", _BAD_CURSOR) from None
    return (DoctorProfile.user.full_name > name) | (
        (DoctorProfile.user.full_name == name) & (DoctorProfile.user.id > last_id)
    )


async def card(row: dict[str, Any], *, stale_ok: bool = False) -> DoctorCard:
    """A directory row (as ``listed()`` selects it) with the doctor's zone and first free slot."""
    rules = await rules_of(str(row["user"]), stale_ok=stale_ok)
    return DoctorCard(
        id=str(row["user"]),
        full_name=row["full_name"],
        specialty=row["specialty"],
        bio=row["bio"],
        languages=_languages(row["languages"]),
        timezone=rules.timezone,
        next_available_at=await next_available(str(row["user"]), stale_ok=stale_ok),
    )


def _keyword(text: str) -> Combinable:
    """A name containing ``text``, or a specialty with a word starting with it."""
    return (
        _contains(DoctorProfile.user.full_name, f"%{text}%")
        | _contains(DoctorProfile.specialty, f"{text}%")
        | _contains(DoctorProfile.specialty, f"% {text}%")
    )


async def search(q: str | None, specialty: str | None, *, limit: int | None, cursor: str | None) -> DoctorPage:
    """Listed doctors matching the keyword ``q`` and whose specialty is ``specialty``, by name then id."""
    size = clamp_limit(limit)
    query = listed()
    if q and _literal(q):
        query = query.where(_keyword(_literal(q)))
    if specialty:
        query = query.where(_contains(DoctorProfile.specialty, _literal(specialty)))
    if cursor:
        query = query.where(_after(cursor))
    query = query.order_by(DoctorProfile.user.full_name).order_by(DoctorProfile.user.id).limit(size + 1)
    rows = await from_replica(query)
    items = [await card(r, stale_ok=True) for r in rows[:size]]
    next_cursor = encode_cursor(rows[size - 1]["full_name"], str(rows[size - 1]["user"])) if len(rows) > size else None
    return DoctorPage(items=items, next_cursor=next_cursor)


async def specialties() -> SpecialtyList:
    """The specialties of listed doctors, spellings that differ only in case counted as one.

    Each is named by its most common spelling (ties: the first in sort order), the list sorted
    by name, so a select offers "Cardiology" once even if one profile says "cardiology".
    """
    rows = await from_replica(_shown(DoctorProfile.select(DoctorProfile.specialty), None))
    spellings: dict[str, dict[str, int]] = {}
    for row in rows:
        name = " ".join(str(row["specialty"]).split())
        if name:
            counts = spellings.setdefault(name.casefold(), {})
            counts[name] = counts.get(name, 0) + 1
    items = [
        Specialty(name=min(counts, key=lambda n: (-counts[n], n)), doctors=sum(counts.values()))
        for counts in spellings.values()
    ]
    return SpecialtyList(items=sorted(items, key=lambda s: s.name.casefold()))


def seen_by_others(viewer: str, doctor_id: str) -> bool:
    """Is ``viewer`` looking at someone else's card (a doctor's own may just have changed)?"""
    try:
        return uuid.UUID(viewer) != uuid.UUID(doctor_id)
    except ValueError:
        return True


async def listed_doctor(viewer: str, doctor_id: str, *, stale_ok: bool = False) -> dict[str, Any]:
    """The directory row of ``doctor_id`` as ``viewer`` sees it, else ``NotFound`` (malformed ids too)."""
    query = listed(viewer).where(DoctorProfile.user == parse_uuid(doctor_id, "doctor")).first()
    row: dict[str, Any] | None = await from_replica(query, stale_ok=stale_ok)
    if row is None:
        raise NotFound("No such doctor.")
    return row
