"""Slot generation: pure functions over a doctor's availability, tested without a database.

Slots are laid out in the doctor's local time, day by day, so a 09:00 start stays 09:00 on
both sides of a DST change; they are returned as UTC instants. A local time that does not
exist (the spring-forward gap) yields no slot.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated

import msgspec
from msgspec import Meta

HHMM = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]
UTC = dt.UTC


class WeeklyHours(msgspec.Struct, kw_only=True):
    weekday: Annotated[int, Meta(ge=0, le=6)]
    start: HHMM
    end: HHMM


class DateException(msgspec.Struct, kw_only=True, omit_defaults=True):
    date: dt.date
    start: HHMM | None = None
    end: HHMM | None = None


class AvailabilityRules(msgspec.Struct, kw_only=True):
    timezone: Annotated[str, Meta(min_length=1, max_length=64)]
    slot_minutes: Annotated[int, Meta(ge=10, le=120)]
    min_notice_minutes: Annotated[int, Meta(ge=0, le=60 * 24 * 30)] = 60
    horizon_days: Annotated[int, Meta(ge=1, le=365)] = 60
    weekly: Annotated[list[WeeklyHours], Meta(max_length=100)] = []
    exceptions: Annotated[list[DateException], Meta(max_length=400)] = []


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def problems(rules: AvailabilityRules) -> list[dict[str, str]]:
    """Field errors a person can fix: bad zone, end before start, overlapping hours."""
    errors: list[dict[str, str]] = []
    try:
        zoneinfo.ZoneInfo(rules.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors.append({"field": "timezone", "message": f"{rules.timezone!r} is not an IANA time zone"})
    by_day: dict[int, list[tuple[int, int]]] = {}
    for i, hours in enumerate(rules.weekly):
        start, end = _minutes(hours.start), _minutes(hours.end)
        if end <= start:
            errors.append({"field": f"weekly[{i}].end", "message": "must be after start"})
            continue
        by_day.setdefault(hours.weekday, []).append((start, end))
    for day, ranges in by_day.items():
        ranges.sort()
        for (_, end_a), (start_b, _) in zip(ranges, ranges[1:], strict=False):
            if start_b < end_a:
                errors.append({"field": "weekly", "message": f"hours overlap on weekday {day}"})
    dates: dict[dt.date, list[DateException]] = {}
    for i, exception in enumerate(rules.exceptions):
        if (exception.start is None) != (exception.end is None):
            errors.append(
                {"field": f"exceptions[{i}]", "message": "give both start and end, or neither to close the day"}
            )
        elif exception.start and exception.end and _minutes(exception.end) <= _minutes(exception.start):
            errors.append({"field": f"exceptions[{i}].end", "message": "must be after start"})
        dates.setdefault(exception.date, []).append(exception)
    for day, entries in dates.items():
        if len(entries) > 1 and any(e.start is None for e in entries):
            errors.append({"field": "exceptions", "message": f"{day} is both closed and open"})
    return errors


def day_ranges(rules: AvailabilityRules, day: dt.date) -> list[tuple[int, int]]:
    """Opening ranges (minutes from local midnight) on ``day``; exceptions replace weekly hours."""
    exceptions = [e for e in rules.exceptions if e.date == day]
    if exceptions:
        return sorted((_minutes(e.start), _minutes(e.end)) for e in exceptions if e.start and e.end)
    return sorted((_minutes(h.start), _minutes(h.end)) for h in rules.weekly if h.weekday == day.weekday())


def generate(
    rules: AvailabilityRules,
    start: dt.datetime,
    end: dt.datetime,
    *,
    now: dt.datetime,
    taken: set[dt.datetime] | frozenset[dt.datetime] = frozenset(),
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Free slots whose start lies in [start, end), as UTC (start, end) pairs, in order."""
    zone = zoneinfo.ZoneInfo(rules.timezone)
    length = dt.timedelta(minutes=rules.slot_minutes)
    earliest = max(start, now + dt.timedelta(minutes=rules.min_notice_minutes))
    latest = min(end, now + dt.timedelta(days=rules.horizon_days))
    if latest <= earliest:
        return []
    taken_utc = {t.astimezone(UTC) for t in taken}
    day = earliest.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = latest.astimezone(zone).date() + dt.timedelta(days=1)
    slots = []
    while day <= last_day:
        midnight = dt.datetime.combine(day, dt.time(0, 0))
        for open_min, close_min in day_ranges(rules, day):
            minute = open_min
            while minute + rules.slot_minutes <= close_min:
                naive = midnight + dt.timedelta(minutes=minute)
                local = naive.replace(tzinfo=zone)
                utc = local.astimezone(UTC)
                # Skip local times that do not exist (spring forward): they don't round-trip.
                exists = utc.astimezone(zone).replace(tzinfo=None) == naive
                if exists and earliest <= utc < latest and utc not in taken_utc:
                    slots.append((utc, utc + length))
                minute += rules.slot_minutes
        day += dt.timedelta(days=1)
    return slots


def slot_of(
    rules: AvailabilityRules, starts_at: dt.datetime, *, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime] | None:
    """The offered slot starting exactly at ``starts_at`` (ignoring bookings), or None."""
    starts_at = starts_at.astimezone(UTC)
    for slot in generate(rules, starts_at, starts_at + dt.timedelta(seconds=1), now=now):
        if slot[0] == starts_at:
            return slot
    return None
