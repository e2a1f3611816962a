"""The ``messages.write`` audit entries of stored chat messages, written by the message store.

Every message stored in a consultation room leaves one entry: ``messages.write``, the sender as
the actor (when their id is a UUID), the consultation, its patient and the sender's client
address; never the body. The entries are written in the statement (PostgreSQL) or transaction
(SQLite) that stores the messages (``domain/consultations/chat_store.py`` composes them in), so
no message is stored without its entry and no entry is written for a message that was not.
The store names the rooms: it passes their prefix (``rooms.ROOM_PREFIX``), so the audit side
does not spell it a second time.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterable

from careconnect.ids import uuid7

__all__ = ("PG_ONE_ENTRY", "actor_id", "consultation_id", "pg_batch_entries", "write_sqlite")

# An entry's id: a UUIDv7 (RFC 9562) of the batch's time, $7. Ids in time order go to the right
# edge of cc_audit_entry's primary key; random ones (gen_random_uuid) touched a random page of it
# each, and after every checkpoint each such page is written whole into the WAL (a clinic 1,000
# point: 11,984 full pages, 96 of its 119 MB of WAL).
_ENTRY_ID_PG = (
    "(lpad(to_hex(floor(extract(epoch FROM $7) * 1000)::bigint), 12, '0') || '7'"
    " || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid"
)


def pg_batch_entries(room_prefix: str) -> str:
    """The ``audited`` step of the store's batch statement (a CTE to append after ``inserted``).

    One entry per row of ``inserted`` (joined to ``fresh`` for the sender's address) whose room
    is ``<room_prefix><appointment id>`` of an appointment that exists; ``$7`` is the batch's time.
    """
    return f""", audited AS (
    INSERT INTO cc_audit_entry
        (id, at, actor_id, actor_role, action, resource_type, resource_id, patient_id, outcome, ip, request_id)
    SELECT {_ENTRY_ID_PG}, $7,
        CASE WHEN i.sender_id ~ '^[0-9a-fA-F-]{{36}}$' THEN i.sender_id::uuid END, i.sender_role,
        'messages.write', 'messages', a.id::text, a.patient, 'success', left(f.sender_address, 64), ''
    FROM inserted i
    JOIN fresh f ON f.sender_id = i.sender_id AND f.room = i.room AND f.client_id = i.client_id
    JOIN cc_appointment a ON a.id = CASE
        WHEN i.room ~ '^{room_prefix}[0-9a-fA-F-]{{36}}$' THEN substring(i.room from {len(room_prefix) + 1})::uuid END
)"""


PG_ONE_ENTRY = f""", audited AS (
    INSERT INTO cc_audit_entry
        (id, at, actor_id, actor_role, action, resource_type, resource_id, patient_id, outcome, ip, request_id)
    SELECT {_ENTRY_ID_PG}, $7, $8::uuid, $4, 'messages.write', 'messages', a.id::text, a.patient, 'success',
        left($10::text, 64), ''
    FROM inserted JOIN cc_appointment a ON a.id = $9::uuid
)"""
"""The ``audited`` step of the store's one-new-message statement: ``$7`` the time, ``$8`` the
actor (``actor_id``), ``$4`` the sender's role, ``$9`` the consultation (``consultation_id``),
``$10`` the sender's address."""


def actor_id(sender_id: str) -> uuid.UUID | None:
    """The sender as an entry's actor: their id when it is a UUID in its 36-character form (as
    user ids are); anything else (a test's or a tool's sender name) has no actor."""
    if len(sender_id) != 36:
        return None
    try:
        return uuid.UUID(sender_id)
    except ValueError:
        return None


def consultation_id(room: str, room_prefix: str) -> uuid.UUID | None:
    """The appointment a room named ``<room_prefix><id>`` belongs to, or None for any other room."""
    return actor_id(room[len(room_prefix) :]) if room.startswith(room_prefix) else None


_SQLITE_ENTRY = (
    "INSERT INTO cc_audit_entry "
    "(id, at, actor_id, actor_role, action, resource_type, resource_id, patient_id, outcome, ip, request_id) "
    "SELECT ?, ?, ?, ?, 'messages.write', 'messages', a.id, a.patient, 'success', substr(?, 1, 64), '' "
    "FROM cc_appointment a WHERE a.id = ?"
)


def write_sqlite(
    db: sqlite3.Connection,
    at: dt.datetime,
    stamp: str,
    messages: Iterable[tuple[str, str, str, str]],
    room_prefix: str,
) -> None:
    """One entry per stored ``(room, sender id, sender role, sender address)`` in a consultation
    room whose appointment exists, in the caller's open transaction; ``stamp`` is ``at`` as the
    store writes it."""
    entries = []
    for room, sender_id, sender_role, address in messages:
        if room.startswith(room_prefix):
            actor = actor_id(sender_id)
            entries.append(
                (
                    str(uuid7(at)),
                    stamp,
                    None if actor is None else str(actor),
                    sender_role,
                    address,
                    room.removeprefix(room_prefix),
                )
            )
    if entries:
        db.executemany(_SQLITE_ENTRY, entries)
