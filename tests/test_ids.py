"""Time-ordered ids: UUIDv7 as RFC 9562 lays it out."""

from __future__ import annotations

import datetime as dt
import uuid

from careconnect.ids import uuid7


def test_uuid7_carries_its_millisecond_version_and_variant():
    at = dt.datetime(2026, 11, 29, 9, 30, 0, 123999, tzinfo=dt.UTC)
    made = uuid7(at)
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert made.int >> 80 == int(dt.datetime(2026, 11, 29, 9, 30, 0, 123000, tzinfo=dt.UTC).timestamp()) * 1000 + 123
    assert str(made).startswith(f"{made.int >> 80:012x}"[:8])


def test_uuid7_sorts_in_time_order_and_never_repeats():
    start = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    ids = [uuid7(start + dt.timedelta(milliseconds=i)) for i in range(1000)]
    assert ids == sorted(ids) and [str(i) for i in ids] == sorted(str(i) for i in ids)
    same_moment = {uuid7(start) for _ in range(1000)}
    assert len(same_moment) == 1000  # 74 random bits apart
    offset = dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert uuid7(offset).int >> 80 == uuid7(start).int >> 80  # the same instant
