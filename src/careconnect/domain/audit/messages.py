"""Stored chat messages read as their own ``messages.write`` audit entries.

A message the application's hub stores is the record of its write: the row already names the
actor (``sender_id`` when it is a user's UUID, ``sender_role``), the consultation (the room
``consultation:<appointment id>``), the time (``created_at``) and the sender's client address
(``sender_address``), all written in the one statement that stores the message. So the store
writes no second row per message, and the audit log reads these rows beside
``cc_audit_entry``'s (``service.audit_page`` merges the two, newest first). An entry reads as
``messages.write`` / ``messages`` / the appointment id / its patient / ``success``, never with the
body. Refused writes (the server API's 404) stay ``cc_audit_entry`` rows, and so do the entries
of messages stored before this change: those rows have a NULL ``sender_address``, which keeps
them out of here, so no message is counted twice.

An entry's id is a UUIDv8 (RFC 9562's custom version) made from the message row's key,
``00000000-0000-8000-8000-<key as 12 hex digits>``: stable, unique, and sorting below every
UUIDv7 entry id, which gives the merged log one order for ties in time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from careconnect.domain.audit.schemas import AuditActor, AuditEntryOut
from careconnect.domain.consultations.rooms import ROOM_PREFIX
from careconnect.instants import stored_instant
from careconnect.tables import ChatMessage

__all__ = ("ACTION", "entry_id", "message_entries")

ACTION = "messages.write"
_ID_PREFIX = "00000000-0000-8000-8000-"
_ID_MAX = _ID_PREFIX + "f" * 12
_KEY_MAX = 2**31 - 1  # chat_message.id is an INTEGER: a larger parameter fails on PostgreSQL


def entry_id(key: int) -> str:
    """The audit entry id of the message row with primary key ``key``."""
    return f"{_ID_PREFIX}{key:012x}"


def _key_before(last_id: str) -> int | None:
    """Of a cursor's entry id: the message keys that sort before it at an equal time are those
    below the returned key; None when the id sorts above every message's (a UUIDv7 entry's)."""
    if last_id.startswith(_ID_PREFIX):
        key = int(last_id[len(_ID_PREFIX) :], 16)
        return None if key > _KEY_MAX else key  # a key past the column's range: every row is below it
    return None if last_id > _ID_MAX else 0


# Per engine: the appointment a room names (NULL for any other room, so no cast can fail), the
# rooms of one patient's appointments (``{}`` is a parameter: Piccolo's raw queries format them).
_DIALECT = {
    "postgres": (
        f"CASE WHEN length(m.room) = {len(ROOM_PREFIX) + 36} AND m.room ~ '^{ROOM_PREFIX}[0-9a-f-]+$' "
        f"THEN substr(m.room, {len(ROOM_PREFIX) + 1})::uuid END",
        f"SELECT '{ROOM_PREFIX}' || p.id::text FROM cc_appointment p WHERE p.patient = {{}}::uuid",
    ),
    "sqlite": (
        f"CASE WHEN m.room LIKE '{ROOM_PREFIX}%' THEN substr(m.room, {len(ROOM_PREFIX) + 1}) END",
        f"SELECT '{ROOM_PREFIX}' || p.id FROM cc_appointment p WHERE p.patient = {{}}",
    ),
}


def _actor(sender_id: str) -> str | None:
    """The sender as the actor: their id when it is a UUID (users' ids are); a tool's name is none."""
    if len(sender_id) != 36:
        return None
    try:
        return str(uuid.UUID(sender_id))
    except ValueError:
        return None


async def message_entries(
    *,
    limit: int,
    patient_id: str | None = None,
    actor_id: str | None = None,
    since: dt.datetime | None = None,
    before: tuple[dt.datetime, str] | None = None,
) -> list[AuditEntryOut]:
    """Up to ``limit`` messages' entries matching every filter, newest first (time, then id).

    ``before`` is a cursor's (time, entry id): only entries that sort after it come. Ids are
    canonical UUIDs (checked by the caller).
    """
    engine = ChatMessage._meta.db
    sqlite = engine.engine_type == "sqlite"
    appointment_of_room, rooms_of_patient = _DIALECT["sqlite" if sqlite else "postgres"]

    def moment(value: dt.datetime) -> Any:
        # SQLite compares the text the store wrote: str() of the UTC time, as Piccolo writes it.
        value = value.astimezone(dt.UTC)
        return str(value) if sqlite else value

    where = ["m.sender_address IS NOT NULL"]
    params: list[Any] = []
    if patient_id:
        where.append(f"m.room IN ({rooms_of_patient})")
        params.append(patient_id)
    if actor_id:
        where.append("m.sender_id = {}")
        params.append(actor_id)
    if since:
        where.append("m.created_at >= {}")
        params.append(moment(since))
    if before:
        at, last_id = before
        key = _key_before(last_id)
        if key is None:
            where.append("m.created_at <= {}")
            params.append(moment(at))
        else:
            where.append("(m.created_at < {} OR (m.created_at = {} AND m.id < {}))")
            params.extend((moment(at), moment(at), key))
    sql = (
        "SELECT m.id, m.created_at, m.sender_id, m.sender_role, m.sender_address, a.id AS appointment, a.patient "
        f"FROM chat_message m JOIN cc_appointment a ON a.id = ({appointment_of_room}) "
        f"WHERE {' AND '.join(where)} ORDER BY m.created_at DESC, m.id DESC LIMIT {int(limit)}"
    )
    rows = await ChatMessage.raw(sql, *params)
    return [
        AuditEntryOut(
            id=entry_id(int(r["id"])),
            at=stored_instant(r["created_at"]),
            actor=AuditActor(id=_actor(r["sender_id"]), role=r["sender_role"]),
            action=ACTION,
            resource_type="messages",
            resource_id=str(r["appointment"]),
            patient_id=str(r["patient"]),
            outcome="success",
            ip=r["sender_address"],
            request_id="",
        )
        for r in rows
    ]
