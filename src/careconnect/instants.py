"""Instants a client may send: between the years 1900 and 2999, with a zone where one is needed.

Python's datetime ends at the years 1 and 9999, so an instant near either end overflows as soon
as a zone or a range is applied to it (a 500: ``9999-12-30T00:00:00Z`` plus the default week of
slots). Nothing in a clinic is scheduled or audited outside these years, so the API refuses them
with 422 ``validation_error`` at the edge.
"""

from __future__ import annotations

import datetime as dt

from careconnect.domain.errors import invalid

FIRST_YEAR, LAST_YEAR = 1900, 2999


def stored_instant(value: object) -> dt.datetime:
    """A timestamp as either engine returns it (SQLite gives text, sometimes without a zone: UTC)."""
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def instant(value: dt.datetime, field: str, *, zone: bool = True) -> dt.datetime:
    """``value`` checked (in range; with a zone unless ``zone=False``), in UTC when it has a zone."""
    if value.tzinfo is None and zone:
        raise invalid(field, "give a zone: end with Z or +hh:mm")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:  # the local year: converting it cannot overflow
        raise invalid(field, f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value if value.tzinfo is None else value.astimezone(dt.UTC)
