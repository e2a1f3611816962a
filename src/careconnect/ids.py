"""Time-ordered ids for append-only rows."""

from __future__ import annotations

import datetime as dt
import os
import uuid

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND = dt.timedelta(milliseconds=1)


def uuid7(at: dt.datetime) -> uuid.UUID:
    """A UUIDv7 (RFC 9562) for the moment ``at``: its milliseconds first, then 74 random bits.

    Ids made in time order sort in time order, so an index on them grows at its right edge
    instead of touching a random page per row (each such page is written whole to PostgreSQL's
    WAL once after every checkpoint).
    """
    value = ((at - _EPOCH) // _MILLISECOND) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC variant
    return uuid.UUID(int=value)
