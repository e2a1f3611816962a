"""A stored consultation message is its own ``messages.write`` audit entry (``domain/audit/messages.py``):
the store writes the sender's address on the row on every path (a room's first message, one new
message, a resend, a batch), and the audit log reads those rows beside ``cc_audit_entry``'s, in
one order, page by page, on both engines, counting no message twice."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from typing import Any

from careconnect.domain.audit.service import record
from careconnect.domain.consultations.chat_store import sql_message_store
from careconnect.hub.store import NewMessage
from careconnect.principal import Principal
from tests.helpers import admin, assert_problem


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


async def consultation(database_url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A patient, a doctor and an appointment between them, inserted directly: (patient, doctor, appointment)."""
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
    return patient, doctor, appointment


async def audit_log(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every entry the admin API gives for ``params``, following the cursor ``limit`` at a time."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/admin/audit", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_every_stored_consultation_message_is_one_audit_entry(client, database_url):
    _, headers = await admin(client)
    patient, doctor, appointment = await consultation(database_url)
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
    # The store wrote no second row per message.
    assert await run_sql(database_url, "SELECT count(*) FROM cc_audit_entry WHERE action = 'messages.write'") == [(0,)]
    entries = await audit_log(client, headers, patient_id=str(patient), limit=2)
    assert len(entries) == 5  # the resend and the other room's message are no entries
    assert sorted(str(e["actor"]["id"]) for e in entries) == sorted(
        [str(patient), str(doctor), str(patient), str(doctor), "None"]
    )
    assert {(e["action"], e["resource_type"], e["resource_id"], e["patient_id"], e["outcome"]) for e in entries} == {
        ("messages.write", "messages", str(appointment), str(patient), "success")
    }
    assert {e["actor"]["role"] for e in entries} == {"patient"}  # message() sends as a patient
    # Each entry has its sender's client ip, on every path (first, one new, batch), newest first.
    assert [e["ip"] for e in entries] == [f"192.0.2.{n}" for n in range(5, 0, -1)]
    ids = [uuid.UUID(e["id"]) for e in entries]
    assert len(set(ids)) == 5 and all(i.version == 8 and i.variant == uuid.RFC_4122 for i in ids)
    assert "b" not in {e.get("body") for e in entries}  # never the body
    by_actor = await audit_log(client, headers, actor_id=str(doctor))
    assert [e["ip"] for e in by_actor] == ["192.0.2.4", "192.0.2.2"]
    assert await audit_log(client, headers, actor_id=str(doctor), action="intake.read") == []


async def test_the_log_merges_messages_and_entries_in_one_order_page_by_page(client, database_url):
    _, headers = await admin(client)
    patient, doctor, appointment = await consultation(database_url)
    room = f"consultation:{appointment}"
    actor = Principal(id=str(doctor), role="doctor", name="D", session_id="s")
    store = sql_message_store(database_url, audit=True)
    await store.start()
    try:
        for n in range(1, 7):  # entries and messages taking turns, each at a later time
            await record(
                actor=actor,
                action="intake.read",
                resource_type="intake",
                resource_id=str(appointment),
                patient_id=str(patient),
                outcome="success",
            )
            await store.append_batch([message(room, f"m{n}", str(doctor))])
            await store.append_batch([message(room, f"n{n}", str(patient)), message(room, f"o{n}", str(doctor))])
    finally:
        await store.close()
    whole = await audit_log(client, headers, patient_id=str(patient), limit=100)
    assert [e["action"] for e in whole[:4]] == ["messages.write", "messages.write", "messages.write", "intake.read"]
    assert len(whole) == 6 * 4
    for limit in (1, 2, 3, 5, 7):
        paged = await audit_log(client, headers, patient_id=str(patient), limit=limit)
        assert [e["id"] for e in paged] == [e["id"] for e in whole], limit
    keys = [(dt.datetime.fromisoformat(e["at"]), e["id"]) for e in whole]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    # A batch's two messages share its time: the id orders them, and the cursor splits them.
    assert any(a[0] == b[0] for a, b in zip(keys, keys[1:], strict=False))
    since = whole[9]["at"]
    recent = await audit_log(client, headers, patient_id=str(patient), since=since, limit=4)
    assert [e["id"] for e in recent] == [e["id"] for e in whole if e["at"] >= since]
    only_messages = await audit_log(client, headers, action="messages.write", actor_id=str(doctor), limit=4)
    assert len(only_messages) == 12 and {e["action"] for e in only_messages} == {"messages.write"}
    only_reads = await audit_log(client, headers, action="intake.read", patient_id=str(patient), limit=4)
    assert len(only_reads) == 6
    everything = await audit_log(client, headers, limit=9)  # no filter: the admin's sign-in too
    assert len(everything) == 6 * 4 + 1


async def test_messages_stored_before_the_change_keep_their_entry_and_are_not_counted_twice(client, database_url):
    """Before this change the store wrote a ``cc_audit_entry`` row per message and no address on the
    message: such a message reads once, as that row. The seed's store (no audit) makes none."""
    _, headers = await admin(client)
    patient, _, appointment = await consultation(database_url)
    room = f"consultation:{appointment}"
    store = sql_message_store(database_url)  # as the seed stores, and as the rows before had it
    await store.start()
    try:
        await store.append_batch([message(room, "m1", str(patient))])
    finally:
        await store.close()
    assert await run_sql(database_url, "SELECT sender_address FROM chat_message WHERE room = $1", room) == [(None,)]
    assert await audit_log(client, headers, patient_id=str(patient)) == []
    await record(
        actor=Principal(id=str(patient), role="patient", name="P", session_id="s"),
        action="messages.write",
        resource_type="messages",
        resource_id=str(appointment),
        patient_id=str(patient),
        outcome="success",
        ip="192.0.2.1",
    )
    [entry] = await audit_log(client, headers, patient_id=str(patient))
    assert (entry["action"], entry["ip"], uuid.UUID(entry["id"]).version) == ("messages.write", "192.0.2.1", 7)


async def test_a_cursor_from_before_or_from_elsewhere_is_refused_or_placed(client, database_url):
    """Hostile cursors: garbage is a 422; a well-formed cursor naming a message id that is not
    there still places the page by its time and id (no 500, nothing skipped or repeated)."""
    from careconnect.domain.audit.messages import entry_id
    from careconnect.pagination import encode_cursor

    _, headers = await admin(client)
    patient, _, appointment = await consultation(database_url)
    room = f"consultation:{appointment}"
    store = sql_message_store(database_url, audit=True)
    await store.start()
    try:
        for n in range(3):
            await store.append_batch([message(room, f"m{n + 1}", str(patient))])
    finally:
        await store.close()
    whole = await audit_log(client, headers, patient_id=str(patient))
    assert len(whole) == 3
    for bad in ("garbage!", encode_cursor("not a time", entry_id(1)), encode_cursor(whole[0]["at"], "x" * 36)):
        response = await client.get(
            "/api/v1/admin/audit", params={"patient_id": str(patient), "cursor": bad}, headers=headers
        )
        assert_problem(response, 422, "validation_error")
    middle = whole[1]
    for last_id, expected in (
        (entry_id(2**47), whole[1:]),  # above every message id at that time: the entry itself comes next
        (entry_id(0), whole[2:]),  # below every one: the next come after it
        ("ffffffff-ffff-7fff-bfff-ffffffffffff", whole[1:]),  # a v7 id sorts above every message's
    ):
        response = await client.get(
            "/api/v1/admin/audit",
            params={"patient_id": str(patient), "cursor": encode_cursor(middle["at"], last_id)},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert [e["id"] for e in response.json()["items"]] == [e["id"] for e in expected]


async def test_a_call_messages_kind_is_stored_on_every_path(database_url):
    """With the audit on, the kind still reaches the table beside the sender's address."""
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
