"""The application's message store writes one ``messages.write`` audit entry per stored
consultation message, in the transaction that stores it, on both engines and on every path
(a room's first message, one new message, a resend, a batch)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from typing import Any

from careconnect.domain.consultations.chat_store import sql_message_store
from careconnect.hub.store import NewMessage


def message(room: str, client_id: str, sender: str) -> NewMessage:
    return NewMessage(
        room=room,
        client_id=client_id,
        sender_id=sender,
        sender_role="patient",
        sender_name="S",
        body="b",
        sender_address=f"192.0.2.{client_id[1:]}",  # the socket's client ip, one per message here
    )


async def run_sql(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """One statement with ``$n`` placeholders on either engine; returns its rows."""
    if database_url.startswith("postgresql"):
        import asyncpg

        connection = await asyncpg.connect(database_url)
        try:
            return [tuple(row) for row in await connection.fetch(sql, *params)]
        finally:
            await connection.close()
    sql = sql.replace("$", "?")  # SQLite's numbered parameters: ?1, ?2, …
    values = [str(p) if isinstance(p, uuid.UUID | dt.datetime) else p for p in params]
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        return db.execute(sql, values).fetchall()


async def test_every_stored_consultation_message_leaves_one_audit_entry(database_url):
    patient, doctor, appointment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    for user, role in ((patient, "patient"), (doctor, "doctor")):
        await run_sql(
            database_url,
            "INSERT INTO cc_user (id, email, password_hash, full_name, role, timezone, created_at) "
            "VALUES ($1, $2, '', 'U', $3, 'UTC', $4)",
            user,
            f"{user}@example.test",
            role,
            now,
        )
    await run_sql(
        database_url,
        "INSERT INTO cc_appointment (id, patient, doctor, starts_at, ends_at, status, reason, created_at) "
        "VALUES ($1, $2, $3, $4, $4, 'in_progress', '', $4)",
        appointment,
        patient,
        doctor,
        now,
    )
    room = f"consultation:{appointment}"
    store = sql_message_store(database_url, audit=True)
    await store.start()
    try:
        [first] = await store.append_batch([message(room, "m1", str(patient))])  # the room's first
        [lone] = await store.append_batch([message(room, "m2", str(doctor))])  # one new message
        [resent] = await store.append_batch([message(room, "m2", str(doctor))])
        pair = await store.append_batch([message(room, "m3", str(patient)), message(room, "m4", str(doctor))])
        [bot] = await store.append_batch([message(room, "m5", "bot-7")])  # not a UUID: no actor
        [elsewhere] = await store.append_batch([message(f"support:{appointment}", "m1", str(patient))])
    finally:
        await store.close()
    assert [first.message.seq, lone.message.seq, *(r.message.seq for r in pair), bot.message.seq] == [1, 2, 3, 4, 5]
    assert resent.created is False and resent.message == lone.message
    assert elsewhere.created is True
    rows = await run_sql(
        database_url,
        "SELECT actor_id, actor_role, resource_type, resource_id, patient_id, outcome, id, at FROM cc_audit_entry "
        "WHERE action = 'messages.write' AND (resource_id = $1 OR patient_id = $2)",
        str(appointment),
        patient,
    )
    actors = sorted(str(row[0]) for row in rows)
    assert actors == sorted([str(patient), str(doctor), str(patient), str(doctor), "None"])
    assert {tuple(str(v) for v in row[1:6]) for row in rows} == {
        ("patient", "messages", str(appointment), str(patient), "success")
    }
    assert len({str(row[6]) for row in rows}) == len(rows)
    # Each entry has its sender's client ip, on every path (first, one new, batch).
    ips = await run_sql(
        database_url,
        "SELECT ip FROM cc_audit_entry WHERE action = 'messages.write' AND resource_id = $1",
        str(appointment),
    )
    assert sorted(row[0] for row in ips) == [f"192.0.2.{n}" for n in range(1, 6)]
    # The ids are UUIDv7 of the entry's time, so they land at the right edge of the primary key
    # instead of on a random page of it.
    for row in rows:
        entry_id, at = uuid.UUID(str(row[6])), row[7]
        if isinstance(at, str):  # SQLite keeps the text
            at = dt.datetime.fromisoformat(at)
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        assert entry_id.version == 7 and entry_id.variant == uuid.RFC_4122
        assert entry_id.int >> 80 == (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)


async def test_a_call_messages_kind_is_stored_with_its_audit_entry_on_every_path(database_url):
    """With the audit on, the kind still reaches the table (the statements' last parameter)."""
    import msgspec

    room = f"consultation:{uuid.uuid4()}"
    sender = str(uuid.uuid4())

    def call(client_id: str) -> NewMessage:
        return msgspec.structs.replace(message(room, client_id, sender), kind="call")

    store = sql_message_store(database_url, audit=True)
    await store.start()
    try:
        await store.append_batch([call("m1")])  # the room's first
        await store.append_batch([call("m2")])  # one new message in an existing room
        await store.append_batch([message(room, "m3", sender), call("m4")])  # a batch
        kinds = [(m.client_id, m.kind) for m in await store.read_last(room, 10)]
    finally:
        await store.close()
    assert kinds == [("m1", "call"), ("m2", "call"), ("m3", "text"), ("m4", "call")]
    rows = await run_sql(database_url, "SELECT client_id, kind FROM chat_message WHERE room = $1 ORDER BY seq", room)
    assert [tuple(r) for r in rows] == kinds
