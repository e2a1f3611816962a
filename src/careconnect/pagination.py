"""Opaque cursors for keyset pagination: base64 of a small JSON list (sort key, id)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

import msgspec

from careconnect.domain.errors import invalid


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = msgspec.json.decode(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, msgspec.DecodeError):
        raise invalid("cursor", "not a cursor this server gave out") from None
    if not isinstance(values, list) or len(values) != size:
        raise invalid("cursor", "not a cursor this server gave out")
    return values


def decode_time_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """A (time with a zone, UUID) cursor, as the lists sorted by time hand out; 422 for any other shape."""
    from careconnect.instants import FIRST_YEAR, LAST_YEAR

    at_raw, last_id = decode_cursor(cursor, 2)
    try:
        if not isinstance(at_raw, str) or not isinstance(last_id, str) or len(at_raw) > 40:
            raise ValueError
        at = dt.datetime.fromisoformat(at_raw)
        last_id = str(uuid.UUID(last_id)) if len(last_id) == 36 else ""
        if at.tzinfo is None or not last_id or not FIRST_YEAR <= at.year <= LAST_YEAR:
            raise ValueError
    except ValueError:
        raise invalid("cursor", "not a cursor this server gave out") from None
    return at, last_id


def clamp_limit(limit: int | None, default: int = 20, maximum: int = 100) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > maximum:
        raise invalid("limit", f"must be between 1 and {maximum}")
    return limit
