"""Scheduling's request and response bodies: the directory card, availability, slots, bookings.

The class names are the OpenAPI component names (``DoctorCard``, ``AvailabilityRules``, ...):
renaming one changes the public contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

from careconnect.hub.bounds import TEXT_PATTERN as TEXT

HHMM = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


class WeeklyHours(msgspec.Struct, kw_only=True):
    weekday: Annotated[int, Meta(ge=0, le=6)]
    start: HHMM
    end: HHMM


class DateException(msgspec.Struct, kw_only=True, omit_defaults=True):
    date: dt.date
    start: HHMM | None = None
    end: HHMM | None = None


class AvailabilityRules(msgspec.Struct, kw_only=True):
    timezone: Annotated[str, Meta(min_length=1, max_length=64, pattern=TEXT)]
    slot_minutes: Annotated[int, Meta(ge=10, le=120)]
    min_notice_minutes: Annotated[int, Meta(ge=0, le=60 * 24 * 30)] = 60
    horizon_days: Annotated[int, Meta(ge=1, le=365)] = 60
    weekly: Annotated[list[WeeklyHours], Meta(max_length=100)] = []
    exceptions: Annotated[list[DateException], Meta(max_length=400)] = []


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


class Specialty(msgspec.Struct, kw_only=True):
    """One specialty offered in the directory and how many listed doctors practise it."""

    name: str
    doctors: int


class SpecialtyList(msgspec.Struct, kw_only=True):
    items: list[Specialty]


class Slot(msgspec.Struct):
    starts_at: dt.datetime
    ends_at: dt.datetime


class SlotList(msgspec.Struct, kw_only=True):
    timezone: str
    slot_minutes: int
    slots: list[Slot]


class BookingIn(msgspec.Struct, kw_only=True):
    doctor_id: str
    starts_at: dt.datetime
    reason: Annotated[str, Meta(max_length=1000, pattern=TEXT)] = ""


class CancelIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, Meta(max_length=1000, pattern=TEXT)] | None = None


class RescheduleIn(msgspec.Struct, kw_only=True):
    starts_at: dt.datetime
