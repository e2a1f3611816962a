"""Private notes and visit summaries: one text per appointment with optimistic concurrency.

Every write names the version it was based on (body ``version`` or ``If-Match: "N"``); the
UPDATE only matches that version, so of two tabs editing at once the second gets 409
``conflict`` with the current version instead of silently overwriting the first.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from careconnect.errors import ApiError
from careconnect.hub.bounds import MAX_COUNT, Count
from careconnect.hub.bounds import TEXT_PATTERN as TEXT

MAX_TEXT = 20_000
# Versions live in an INTEGER column: the next version of this one would not fit.
MAX_STORED_VERSION = 2**31 - 1


class DocumentIn(msgspec.Struct, kw_only=True):
    text: Annotated[str, Meta(max_length=MAX_TEXT, pattern=TEXT)]
    version: Count | None = None


class DocumentOut(msgspec.Struct, kw_only=True):
    text: str
    version: int
    updated_at: dt.datetime | None


EMPTY = DocumentOut(text="", version=0, updated_at=None)


def expected_version(data: DocumentIn, if_match: str | None) -> int:
    if if_match:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 16 or int(raw) > MAX_COUNT:
            raise ApiError(
                422,
                "validation_error",
                'If-Match must be a version such as "3".',
                errors=[{"field": "If-Match", "message": "not a version"}],
            )
        return int(raw)
    if data.version is None:
        raise ApiError(
            422,
            "validation_error",
            "Name the version you edited (body version, or If-Match), 0 for the first save.",
            errors=[{"field": "version", "message": "required"}],
        )
    return data.version


async def read(table: Any, appointment_id: str) -> DocumentOut:
    row = (
        await table.select(table.text, table.version, table.updated_at)
        .where(table.appointment == appointment_id)
        .first()
    )
    if row is None:
        return EMPTY
    return DocumentOut(text=row["text"], version=row["version"], updated_at=row["updated_at"])


async def write(
    table: Any, appointment_id: str, *, author_column: str, author_id: str, text: str, version: int
) -> DocumentOut:
    """Save ``text`` if the stored version is still ``version``; else 409 with the current version."""
    now = dt.datetime.now(dt.UTC)
    if version == 0:
        try:
            await table.insert(
                table(appointment=appointment_id, text=text, version=1, updated_at=now, **{author_column: author_id})
            )
            return DocumentOut(text=text, version=1, updated_at=now)
        except Exception as exc:
            if "unique" not in str(exc).lower() and "duplicate" not in str(exc).lower():
                raise
    elif version < MAX_STORED_VERSION:  # a larger one was never stored: stale, like any other
        updated = (
            await table.update({table.text: text, table.version: version + 1, table.updated_at: now})
            .where((table.appointment == appointment_id) & (table.version == version))
            .returning(table.version)
        )
        if updated:
            return DocumentOut(text=text, version=version + 1, updated_at=now)
    current = await read(table, appointment_id)
    raise ConflictingEdit(current)


class ConflictingEdit(ApiError):
    def __init__(self, current: DocumentOut) -> None:
        super().__init__(
            409,
            "conflict",
            f"This text was changed elsewhere (now version {current.version}); reload it and apply your edit again.",
        )
        assert isinstance(self.extra, dict)
        self.extra["current_version"] = current.version
