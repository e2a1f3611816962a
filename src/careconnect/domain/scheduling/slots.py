"""Slot generation: pure functions over a doctor's availability, tested without a database.

Slots are laid out in the doctor's local time, day by day, so a 09:00 start stays 09:00 on
both sides of a DST change; they are returned as UTC instants. A local time that does not
exist (the spring-forward gap) yields no slot; an ambiguous one (the fall-back hour) is taken
at its first occurrence. A slot that overlaps a busy interval (an appointment, even one made
on an older grid) is not offered.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterable

from careconnect.domain.scheduling.schemas import AvailabilityRules

UTC = dt.UTC
Interval = tuple[dt.datetime, dt.datetime]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def is_zone(name: str) -> bool:
    """True for an IANA zone name this system knows ("Europe/Paris", "UTC")."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _overlaps(ranges: list[tuple[int, int]]) -> bool:
    ranges = sorted(ranges)
    return any(start_b < end_a for (_, end_a), (start_b, _) in zip(ranges, ranges[1:], strict=False))


def problems(rules: AvailabilityRules) -> list[dict[str, str]]:
    """Field errors a person can fix: an unknown zone, an end before its start, overlapping hours."""
    errors: list[dict[str, str]] = []
    if not is_zone(rules.timezone):
        errors.append(
            {"field": "timezone", "message": f"{rules.timezone!r} is not an IANA time zone (e.g. Europe/Paris)"}
        )
    by_day: dict[int, list[tuple[int, int]]] = {}
    for i, hours in enumerate(rules.weekly):
        start, end = _minutes(hours.start), _minutes(hours.end)
        if end <= start:
            errors.append({"field": f"weekly[{i}].end", "message": "must be after start"})
            continue
        by_day.setdefault(hours.weekday, []).append((start, end))
    for day, ranges in sorted(by_day.items()):
        if _overlaps(ranges):
            errors.append({"field": "weekly", "message": f"hours overlap on weekday {day} (0 = Monday)"})
    closed: set[dt.date] = set()
    opened: dict[dt.date, list[tuple[int, int]]] = {}
    for i, exception in enumerate(rules.exceptions):
        if exception.start is None and exception.end is None:
            closed.add(exception.date)
        elif exception.start is None or exception.end is None:
            errors.append(
                {"field": f"exceptions[{i}]", "message": "give both start and end, or neither to close the day"}
            )
        elif _minutes(exception.end) <= _minutes(exception.start):
            errors.append({"field": f"exceptions[{i}].end", "message": "must be after start"})
        else:
            opened.setdefault(exception.date, []).append((_minutes(exception.start), _minutes(exception.end)))
    for date in sorted(closed & opened.keys()):
        errors.append({"field": "exceptions", "message": f"{date} is both closed and given hours; keep one"})
    for date, date_ranges in sorted(opened.items()):
        if _overlaps(date_ranges):
            errors.append({"field": "exceptions", "message": f"hours overlap on {date}"})
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
    busy: Iterable[Interval] = (),
    limit: int | None = None,
) -> list[Interval]:
    """Free slots whose start lies in [start, end), as UTC (start, end) pairs, in order.

    Args:
        rules: the doctor's availability.
        start: the earliest slot start wanted (aware).
        end: slots must start before this (aware).
        now: the current instant; minimum notice and horizon count from it.
        busy: intervals already taken (the doctor's live appointments); overlapping slots are left out.
        limit: stop after this many slots (the directory only wants the first).
    """
    zone = zoneinfo.ZoneInfo(rules.timezone)
    length = dt.timedelta(minutes=rules.slot_minutes)
    earliest = max(start, now + dt.timedelta(minutes=rules.min_notice_minutes))
    latest = min(end, now + dt.timedelta(days=rules.horizon_days))
    if latest <= earliest:
        return []
    taken = sorted((s.astimezone(UTC), e.astimezone(UTC)) for s, e in busy)
    taken_starts = [s for s, _ in taken]
    # Busy intervals are short (one slot each), so any that overlaps [a, b) starts after a - longest.
    longest = max((e - s for s, e in taken), default=dt.timedelta(0))

    def is_free(slot_start: dt.datetime, slot_end: dt.datetime) -> bool:
        i = bisect.bisect_left(taken_starts, slot_start - longest)
        while i < len(taken) and taken[i][0] < slot_end:
            if taken[i][1] > slot_start:
                return False
            i += 1
        return True

    day = earliest.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = latest.astimezone(zone).date() + dt.timedelta(days=1)
    slots: list[Interval] = []
    while day <= last_day:
        midnight = dt.datetime.combine(day, dt.time(0, 0))
        for open_min, close_min in day_ranges(rules, day):
            minute = open_min
            while minute + rules.slot_minutes <= close_min:
                naive = midnight + dt.timedelta(minutes=minute)
                utc = naive.replace(tzinfo=zone).astimezone(UTC)
                # Skip local times that do not exist (spring forward): they don't round-trip.
                exists = utc.astimezone(zone).replace(tzinfo=None) == naive
                if exists and earliest <= utc < latest and is_free(utc, utc + length):
                    slots.append((utc, utc + length))
                    if limit is not None and len(slots) >= limit:
                        return slots
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
