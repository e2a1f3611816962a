"""Slot generation as a pure function: DST, zones, exceptions, notice and horizon."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from careconnect.domain.scheduling.schemas import AvailabilityRules, DateException, WeeklyHours
from careconnect.domain.scheduling.slots import generate, problems, slot_of

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
NOW0 = dt.datetime(2026, 1, 1, tzinfo=UTC)


def rules(**overrides):
    values = dict(
        timezone="Europe/Paris",
        slot_minutes=60,
        min_notice_minutes=0,
        horizon_days=365,
        weekly=[WeeklyHours(weekday=d, start="09:00", end="12:00") for d in range(7)],
        exceptions=[],
    )
    values.update(overrides)
    return AvailabilityRules(**values)


def local_starts(found, zone=PARIS):
    return [s.astimezone(zone).strftime("%Y-%m-%d %H:%M") for s, _ in found]


def test_nine_oclock_stays_nine_across_the_dst_change():
    # Europe/Paris leaves summer time on Sunday 2026-10-25 at 03:00.
    start = dt.datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    found = generate(rules(), start, start + dt.timedelta(days=3), now=start - dt.timedelta(days=1))
    starts = local_starts(found)
    assert starts[:3] == ["2026-10-24 09:00", "2026-10-24 10:00", "2026-10-24 11:00"]
    assert "2026-10-25 09:00" in starts and "2026-10-26 09:00" in starts
    # The same local hour is a different UTC hour on either side.
    by_local = {s.astimezone(PARIS).strftime("%Y-%m-%d %H:%M"): s for s, _ in found}
    assert by_local["2026-10-24 09:00"].hour == 7 and by_local["2026-10-26 09:00"].hour == 8
    assert all(e - s == dt.timedelta(hours=1) for s, e in found)


def test_spring_forward_gap_yields_no_slot():
    night = rules(weekly=[WeeklyHours(weekday=6, start="01:00", end="05:00")])  # Sundays
    start = dt.datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    found = generate(night, start, start + dt.timedelta(days=2), now=start - dt.timedelta(days=1))
    # 02:00-03:00 does not exist on 2026-03-29 in Paris.
    assert local_starts(found) == ["2026-03-29 01:00", "2026-03-29 03:00", "2026-03-29 04:00"]


def test_doctor_and_patient_in_different_zones_see_the_same_instants():
    tokyo = rules(timezone="Asia/Tokyo", weekly=[WeeklyHours(weekday=0, start="09:00", end="10:00")])
    start = dt.datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # covers Monday 2026-11-30 in Tokyo
    found = generate(tokyo, start, start + dt.timedelta(days=2), now=start - dt.timedelta(days=1))
    assert len(found) == 1
    slot = found[0][0]
    assert slot.astimezone(ZoneInfo("Asia/Tokyo")).hour == 9
    # A patient in New York sees the same instant, on the previous evening.
    assert slot.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M") == "Sun 19:00"
    assert slot == dt.datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def test_exceptions_close_replace_and_open():
    start = dt.datetime(2026, 12, 21, 0, 0, tzinfo=UTC)  # a Monday
    week = rules(
        weekly=[WeeklyHours(weekday=d, start="09:00", end="11:00") for d in range(5)],
        exceptions=[
            DateException(date=dt.date(2026, 12, 24)),  # closed
            DateException(date=dt.date(2026, 12, 23), start="14:00", end="15:00"),  # replaced
            DateException(date=dt.date(2026, 12, 26), start="10:00", end="11:00"),  # Saturday opened
        ],
    )
    found = local_starts(generate(week, start, start + dt.timedelta(days=7), now=start - dt.timedelta(days=1)))
    assert not [s for s in found if s.startswith("2026-12-24")]
    assert [s for s in found if s.startswith("2026-12-23")] == ["2026-12-23 14:00"]
    assert [s for s in found if s.startswith("2026-12-26")] == ["2026-12-26 10:00"]
    assert [s for s in found if s.startswith("2026-12-22")] == ["2026-12-22 09:00", "2026-12-22 10:00"]
    assert not [s for s in found if s.startswith("2026-12-27")]


def test_min_notice_horizon_and_taken_slots():
    now = dt.datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 09:30 in Paris
    found = generate(rules(min_notice_minutes=90, horizon_days=2), now, now + dt.timedelta(days=10), now=now)
    starts = local_starts(found)
    assert starts[0] == "2026-12-01 11:00"  # 10:00 is inside the 90-minute notice
    assert starts[-1].startswith("2026-12-03")  # nothing past two days
    assert all(s[0] < now + dt.timedelta(days=2) for s in found)
    again = generate(
        rules(min_notice_minutes=90, horizon_days=2),
        now,
        now + dt.timedelta(days=10),
        now=now,
        busy=[(found[0][0], found[0][1])],
    )
    assert found[0] not in again and len(again) == len(found) - 1


def test_slot_of_and_validation():
    now = dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert slot_of(rules(), dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC), now=now) is not None  # 09:00 Paris
    assert slot_of(rules(), dt.datetime(2026, 12, 2, 8, 30, tzinfo=UTC), now=now) is None  # off the grid
    bad = rules(
        timezone="Nowhere/Land",
        weekly=[
            WeeklyHours(weekday=0, start="10:00", end="09:00"),
            WeeklyHours(weekday=1, start="09:00", end="12:00"),
            WeeklyHours(weekday=1, start="11:00", end="13:00"),
        ],
    )
    fields = {p["field"] for p in problems(bad)}
    assert {"timezone", "weekly[0].end", "weekly"} <= fields


def test_new_york_fall_back_week_keeps_local_hours_and_never_doubles_a_slot():
    # America/New_York leaves daylight time on Sunday 2026-11-01 at 02:00 (01:00-02:00 happens twice).
    ny = rules(
        timezone="America/New_York",
        slot_minutes=30,
        weekly=[WeeklyHours(weekday=d, start="09:00", end="10:00") for d in range(7)]
        + [WeeklyHours(weekday=6, start="00:30", end="03:00")],
    )
    start = dt.datetime(2026, 10, 30, 0, 0, tzinfo=UTC)
    found = generate(ny, start, start + dt.timedelta(days=4), now=start - dt.timedelta(days=1))
    nine = {s.astimezone(NEW_YORK).date(): s for s, _ in found if s.astimezone(NEW_YORK).hour == 9 and s.minute == 0}
    assert nine[dt.date(2026, 10, 31)].hour == 13  # EDT, UTC-4
    assert nine[dt.date(2026, 11, 2)].hour == 14  # EST, UTC-5
    sunday = [(s, e) for s, e in found if s.astimezone(NEW_YORK).date() == dt.date(2026, 11, 1)]
    assert local_starts(sunday, NEW_YORK)[:5] == [
        "2026-11-01 00:30",
        "2026-11-01 01:00",
        "2026-11-01 01:30",
        "2026-11-01 02:00",
        "2026-11-01 02:30",
    ]
    # The repeated hour is offered once, and no two slots overlap in real time.
    assert len({s for s, _ in found}) == len(found)
    assert all(a[1] <= b[0] for a, b in zip(found, found[1:], strict=False))


def test_doctor_in_paris_patient_in_new_york_same_instants():
    week = rules(weekly=[WeeklyHours(weekday=2, start="09:00", end="10:00")])  # Wednesdays, Paris
    start = dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    found = generate(week, start, start + dt.timedelta(days=7), now=start)
    assert [s for s, _ in found] == [dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)]
    assert found[0][0].astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M") == "2026-12-02 03:00"


def test_an_appointment_from_an_older_grid_blocks_every_slot_it_overlaps():
    now = dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    day = dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    # Booked when slots were 30 minutes: 09:30-10:00. Slots are now 60 minutes.
    busy = [(day + dt.timedelta(minutes=30), day + dt.timedelta(minutes=60))]
    found = generate(rules(), day, day + dt.timedelta(hours=3), now=now, busy=busy)
    assert local_starts(found) == ["2026-12-02 10:00", "2026-12-02 11:00"]
    # Touching is not overlapping.
    edge = [(day - dt.timedelta(minutes=30), day)]
    assert local_starts(generate(rules(), day, day + dt.timedelta(hours=1), now=now, busy=edge)) == ["2026-12-02 09:00"]


def test_notice_and_horizon_edges_are_exact():
    now = dt.datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    found = generate(rules(min_notice_minutes=60, horizon_days=1), now, now + dt.timedelta(days=5), now=now)
    # 09:00 Paris (08:00 UTC) is exactly 60 minutes away: offered. 09:00 tomorrow is exactly
    # one day away: not offered (the horizon is exclusive).
    assert local_starts(found) == ["2026-12-01 09:00", "2026-12-01 10:00", "2026-12-01 11:00"]
    assert generate(rules(), now, now, now=now) == []
    assert generate(rules(), now + dt.timedelta(days=2), now + dt.timedelta(days=1), now=now) == []


def test_a_range_in_the_past_offers_nothing():
    now = dt.datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
    assert generate(rules(), now - dt.timedelta(days=5), now - dt.timedelta(days=1), now=now) == []


def test_exception_validation():
    bad = rules(
        exceptions=[
            DateException(date=dt.date(2026, 12, 24), start="09:00"),
            DateException(date=dt.date(2026, 12, 25), start="12:00", end="11:00"),
            DateException(date=dt.date(2026, 12, 26)),
            DateException(date=dt.date(2026, 12, 26), start="09:00", end="10:00"),
            DateException(date=dt.date(2026, 12, 27), start="09:00", end="11:00"),
            DateException(date=dt.date(2026, 12, 27), start="10:00", end="12:00"),
        ]
    )
    found = problems(bad)
    assert {"field": "exceptions[0]", "message": "give both start and end, or neither to close the day"} in found
    assert {"field": "exceptions[1].end", "message": "must be after start"} in found
    messages = [p["message"] for p in found if p["field"] == "exceptions"]
    assert any("2026-12-26" in m for m in messages) and any("2026-12-27" in m for m in messages)
    # Two separate ranges on one date are fine, and so are touching weekly ranges.
    good = rules(
        weekly=[WeeklyHours(weekday=0, start="09:00", end="12:00"), WeeklyHours(weekday=0, start="12:00", end="17:00")],
        exceptions=[
            DateException(date=dt.date(2026, 12, 27), start="09:00", end="10:00"),
            DateException(date=dt.date(2026, 12, 27), start="14:00", end="15:00"),
        ],
    )
    assert problems(good) == []
    split = generate(good, dt.datetime(2026, 12, 27, tzinfo=UTC), dt.datetime(2026, 12, 28, tzinfo=UTC), now=NOW0)
    assert local_starts(split) == ["2026-12-27 09:00", "2026-12-27 14:00"]


def test_limit_stops_at_the_first_free_slots():
    start = dt.datetime(2026, 12, 1, tzinfo=UTC)
    every = generate(rules(), start, start + dt.timedelta(days=3), now=start)
    assert generate(rules(), start, start + dt.timedelta(days=3), now=start, limit=2) == every[:2]
    assert generate(rules(), start, start + dt.timedelta(days=3), now=start, busy=[every[0]], limit=1) == [every[1]]
