"""Private notes and visit summaries: one text per appointment with optimistic concurrency.

Every write names the version it was based on (body ``version`` or ``If-Match: "N"``); the
UPDATE only matches that version, so of two tabs editing at once the second gets 409
``conflict`` with the current version instead of silently overwriting the first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from careconnect.db import from_replica
from careconnect.domain.consultations.schemas import DocumentIn, DocumentOut
from careconnect.domain.errors import Conflict, Invalid
from careconnect.hub.bounds import MAX_COUNT
from careconnect.tables import ConsultationNote, ConsultationSummary

# Versions live in an INTEGER column: the next version of this one would not fit.
MAX_STORED_VERSION = 2**31 - 1

T = TypeVar("T", ConsultationNote, ConsultationSummary)


@dataclass(frozen=True)
class Kind(Generic[T]):
    """One kind of clinical text: its table, its name in audit actions, its author's column."""

    table: type[T]
    name: str
    author_column: str

    async def read(self, appointment_id: str, *, stale_ok: bool = False) -> DocumentOut:
        return await read(self.table, appointment_id, stale_ok=stale_ok)

    async def write(self, appointment_id: str, *, author_id: str, text: str, version: int) -> DocumentOut:
        return await write(
            self.table,
            appointment_id,
            author_column=self.author_column,
            author_id=author_id,
            text=text,
            version=version,
        )


NOTES = Kind(ConsultationNote, "notes", author_column="doctor")
SUMMARY = Kind(ConsultationSummary, "summary", author_column="author")
Document = Kind[ConsultationNote] | Kind[ConsultationSummary]


class ConflictingEdit(Conflict):
    """The text changed since the version the edit was based on (409 with ``current_version``)."""

    def __init__(self, current: DocumentOut) -> None:
        super().__init__(
            f"This text was changed elsewhere (now version {current.version}); reload it and apply your edit again.",
            code="conflict",
            extra={"current_version": current.version},
        )


def expected_version(data: DocumentIn, if_match: str | None) -> int:
    if if_match:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 16 or int(raw) > MAX_COUNT:
            raise Invalid(
                'If-Match must be a version such as "3".', errors=[{"field": "If-Match", "message": "not a version"}]
            )
        return int(raw)
    if data.version is None:
        raise Invalid(
            "Name the version you edited (body version, or If-Match), 0 for the first save.",
            errors=[{"field": "version", "message": "required"}],
        )
    return data.version


async def read(table: type[T], appointment_id: str, *, stale_ok: bool = False) -> DocumentOut:
    """The stored text; ``stale_ok`` reads it from the replica (never for a version to edit from)."""
    query = table.select(table.text, table.version, table.updated_at).where(table.appointment == appointment_id)
    row = await from_replica(query.first(), stale_ok=stale_ok)
    if row is None:
        return DocumentOut(text="", version=0, updated_at=None)
    return DocumentOut(text=row["text"], version=row["version"], updated_at=row["updated_at"])


async def write(
    table: type[T], appointment_id: str, *, author_column: str, author_id: str, text: str, version: int
) -> DocumentOut:
    """Save ``text`` if the stored version is still ``version``; else 409 with the current version."""
    now = dt.datetime.now(dt.UTC)
    if version == 0:
        # ON CONFLICT rather than catching the unique violation: a failed statement would abort
        # the caller's transaction on PostgreSQL (the summary's mail is queued in the same one).
        author = table._meta.get_column_by_name(author_column)
        values = {table.appointment: appointment_id, table.text: text, table.version: 1, table.updated_at: now}
        inserted = (
            await table.insert(table(_data={**values, author: author_id}))
            .on_conflict(target=table.appointment, action="DO NOTHING")
            .returning(table.version)
        )
        if inserted:
            return DocumentOut(text=text, version=1, updated_at=now)
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
