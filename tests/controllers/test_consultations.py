"""The consultation over REST: lifecycle, notes, summary, history, messages and bots."""

from __future__ import annotations

import re

import msgspec

from careconnect.app import hub_of
from careconnect.domain.consultations.schemas import MessageFrame, Sender
from careconnect.hub.encoding import encode_json
from careconnect.hub.protocol import Message, UserRef, message_frame
from careconnect.hub.store import NewMessage, StoredMessage
from tests.consult_helpers import INTAKE, book, open_doctor, visit
from tests.helpers import admin, assert_problem, signed_in


async def test_lifecycle_through_the_state_machine(client):
    v = await visit(client)
    cid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    # The doctor cannot admit before the patient checks in.
    assert_problem(await client.post(f"/api/v1/consultations/{cid}/start", headers=d), 409, "invalid_state")
    # Only the patient checks in; only the doctor admits.
    assert_problem(await client.post(f"/api/v1/consultations/{cid}/check-in", headers=d), 404, "not_found")
    checked = await client.post(f"/api/v1/consultations/{cid}/check-in", headers=p)
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "checked_in"
    assert_problem(await client.post(f"/api/v1/consultations/{cid}/start", headers=p), 404, "not_found")
    started = await client.post(f"/api/v1/consultations/{cid}/start", headers=d)
    assert started.json()["status"] == "in_progress"
    # A no-show is not possible once the visit runs.
    assert_problem(await client.post(f"/api/v1/consultations/{cid}/no-show", headers=d), 409, "invalid_state")
    done = await client.post(f"/api/v1/consultations/{cid}/complete", headers=d)
    assert done.json()["status"] == "completed"
    assert_problem(await client.post(f"/api/v1/consultations/{cid}/complete", headers=d), 409, "invalid_state")
    assert_problem(await client.post(f"/api/v1/consultations/{cid}/check-in", headers=p), 409, "invalid_state")


async def test_check_in_opens_fifteen_minutes_before(client):
    doctor, _ = await open_doctor(client)
    _, p = await signed_in(client, "patient")
    later = await book(client, doctor["id"], p, skip=12)  # two hours away
    response = await client.post(f"/api/v1/consultations/{later['id']}/check-in", headers=p)
    assert_problem(response, 409, "invalid_state")


async def test_notes_are_the_doctors_alone_with_optimistic_concurrency(client):
    v = await visit(client)
    cid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    empty = await client.get(f"/api/v1/consultations/{cid}/notes", headers=d)
    assert empty.json() == {"text": "", "version": 0, "updated_at": None}
    first = await client.put(f"/api/v1/consultations/{cid}/notes", json={"text": "BP 120/80", "version": 0}, headers=d)
    assert first.status_code == 200 and first.json()["version"] == 1
    # A second tab still on version 0 cannot overwrite.
    stale = await client.put(f"/api/v1/consultations/{cid}/notes", json={"text": "other tab", "version": 0}, headers=d)
    body = assert_problem(stale, 409, "conflict")
    assert body["current_version"] == 1
    via_header = await client.put(
        f"/api/v1/consultations/{cid}/notes", json={"text": "BP 120/80, HR 70"}, headers={**d, "If-Match": '"1"'}
    )
    assert via_header.json()["version"] == 2
    assert (await client.get(f"/api/v1/consultations/{cid}/notes", headers=d)).json()["text"] == "BP 120/80, HR 70"
    # The patient and any other doctor get 404.
    assert_problem(await client.get(f"/api/v1/consultations/{cid}/notes", headers=p), 404, "not_found")
    _, other_doctor = await signed_in(client, "doctor")
    assert_problem(await client.get(f"/api/v1/consultations/{cid}/notes", headers=other_doctor), 404, "not_found")
    missing_version = await client.put(f"/api/v1/consultations/{cid}/notes", json={"text": "x"}, headers=d)
    assert_problem(missing_version, 422, "validation_error")


async def test_summary_doctor_writes_patient_reads(client):
    v = await visit(client)
    cid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    text = "Rest, fluids. <b>Not HTML</b>; DROP TABLE cc_user;"
    saved = await client.put(f"/api/v1/consultations/{cid}/summary", json={"text": text, "version": 0}, headers=d)
    assert saved.status_code == 200
    read = await client.get(f"/api/v1/consultations/{cid}/summary", headers=p)
    assert read.json()["text"] == text
    assert_problem(
        await client.put(f"/api/v1/consultations/{cid}/summary", json={"text": "mine", "version": 1}, headers=p),
        403,
        "forbidden",
    )
    _, stranger = await signed_in(client, "patient")
    assert_problem(await client.get(f"/api/v1/consultations/{cid}/summary", headers=stranger), 404, "not_found")


async def test_history_for_a_treating_doctor_only(client):
    v = await visit(client)
    cid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    assert (await client.put(f"/api/v1/appointments/{cid}/intake", json=INTAKE, headers=p)).status_code == 200
    await client.put(f"/api/v1/consultations/{cid}/notes", json={"text": "private", "version": 0}, headers=d)
    await client.put(f"/api/v1/consultations/{cid}/summary", json={"text": "for you", "version": 0}, headers=d)
    # A second doctor the patient also sees: their notes stay their own.
    doctor2, d2 = await open_doctor(client)
    other = await book(client, doctor2["id"], p, skip=3)
    await client.put(
        f"/api/v1/consultations/{other['id']}/notes", json={"text": "doctor two", "version": 0}, headers=d2
    )
    history = await client.get(f"/api/v1/patients/{v['patient']['id']}/history", headers=d)
    assert history.status_code == 200, history.text
    body = history.json()
    assert body["patient"]["id"] == v["patient"]["id"]
    entries = {e["appointment"]["id"]: e for e in body["appointments"]}
    assert entries[cid]["intake"]["chief_complaint"] == INTAKE["chief_complaint"]
    assert entries[cid]["intake"]["notes"] == INTAKE["notes"]
    assert entries[cid]["summary"]["text"] == "for you"
    assert entries[cid]["notes"]["text"] == "private"
    # The visit with doctor two is not shown until the patient shares (see tests/controllers/test_access.py).
    assert other["id"] not in entries
    # A doctor without an appointment with this patient, and the patient, get 404.
    _, stranger_doctor = await signed_in(client, "doctor")
    assert_problem(
        await client.get(f"/api/v1/patients/{v['patient']['id']}/history", headers=stranger_doctor), 404, "not_found"
    )
    assert (await client.get(f"/api/v1/patients/{v['patient']['id']}/history", headers=p)).status_code in (403, 404)


async def test_bot_invitation(client):
    v = await visit(client)
    cid, d = v["id"], v["doctor_headers"]
    _, admin_headers = await admin(client)
    creds = (await client.post("/api/v1/admin/integrations", json={"name": "Triage"}, headers=admin_headers)).json()
    invited = await client.post(
        f"/api/v1/consultations/{cid}/participants", json={"client_id": creds["client_id"]}, headers=d
    )
    assert invited.status_code == 201, invited.text
    token = await client.post(
        "/api/v1/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    bot = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await client.get(f"/api/v1/consultations/{cid}/messages", headers=bot)).status_code == 200
    unknown = await client.post(f"/api/v1/consultations/{cid}/participants", json={"client_id": "nope"}, headers=d)
    assert_problem(unknown, 422, "validation_error")
    removed = await client.delete(f"/api/v1/consultations/{cid}/participants/{creds['client_id']}", headers=d)
    assert removed.status_code == 204
    assert_problem(await client.get(f"/api/v1/consultations/{cid}/messages", headers=bot), 404, "not_found")


async def test_messages_page_for_members_only(client):
    v = await visit(client)
    cid = v["id"]
    page = await client.get(f"/api/v1/consultations/{cid}/messages", headers=v["patient_headers"])
    assert page.json() == {"items": [], "has_more": False}
    _, stranger = await signed_in(client, "patient")
    assert_problem(await client.get(f"/api/v1/consultations/{cid}/messages", headers=stranger), 404, "not_found")
    assert_problem(await client.get(f"/api/v1/consultations/{cid}/messages"), 401, "unauthorized")
    assert_problem(
        await client.get("/api/v1/consultations/not-a-uuid/messages", headers=v["patient_headers"]), 404, "not_found"
    )


async def test_messages_over_rest_are_the_hubs_frames_byte_for_byte(client):
    """REST reads the room through the hub's store and sends the hub's own frame bytes."""
    v = await visit(client)
    cid, p = v["id"], v["patient_headers"]
    room = f"consultation:{cid}"
    batch = [
        NewMessage(
            room=room,
            client_id=f"m{i}",
            sender_id=v["patient"]["id"],
            sender_role="patient",
            sender_name="Pat O'Brien",
            body=f'<b>{i}</b> "quoted" \\ ünïcödé 😀',
        )
        for i in range(1, 8)
    ]
    stored = [r.message for r in await hub_of(client.app).store.append_batch(batch)]
    assert [m.seq for m in stored] == list(range(1, 8))

    def page(messages: list[StoredMessage], has_more: bool) -> bytes:
        items = b",".join(encode_json(message_frame(m)) for m in messages)  # as the socket sends each
        return b'{"items":[' + items + b'],"has_more":' + (b"true" if has_more else b"false") + b"}"

    url = f"/api/v1/consultations/{cid}/messages"
    for params, messages, has_more in (
        ({"limit": 3}, stored[4:], True),  # the latest page
        ({}, stored, False),
        ({"before_seq": 5, "limit": 3}, stored[1:4], True),  # backwards
        ({"before_seq": 3, "limit": 3}, stored[:2], False),
        ({"after_seq": 0, "limit": 5}, stored[:5], True),  # forwards
        ({"after_seq": 5, "limit": 5}, stored[5:], False),
        ({"after_seq": 1, "before_seq": 4}, stored[1:3], False),
        ({"after_seq": 1, "before_seq": 6, "limit": 2}, stored[1:3], True),
        ({"after_seq": 7}, [], False),
    ):
        response = await client.get(url, params=params, headers=p)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.content == page(messages, has_more), params
    item = (await client.get(url, params={"limit": 1}, headers=p)).json()["items"][0]
    assert list(item) == ["type", "room", "seq", "id", "sender", "body", "ts", "kind"]
    assert (item["type"], item["room"], item["seq"], item["id"], item["kind"]) == ("message", room, 7, "m7", "text")
    assert item["sender"] == {"id": v["patient"]["id"], "role": "patient", "name": "Pat O'Brien"}
    assert item["body"] == batch[6].body
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["ts"])


def test_the_published_message_frame_describes_the_hubs():
    """``MessageFrame`` (the OpenAPI name) has the hub frame's fields, in its order, with its types."""

    def fields(struct: type[msgspec.Struct]) -> list[tuple[str, object]]:
        return [(f.name, f.type) for f in msgspec.structs.fields(struct)]

    assert fields(MessageFrame)[0] == ("type", str)
    assert [(n, t) for n, t in fields(MessageFrame)[1:] if n != "sender"] == [
        (n, t) for n, t in fields(Message) if n != "sender"
    ]
    assert [n for n, _ in fields(MessageFrame)[1:]] == [n for n, _ in fields(Message)]
    assert fields(Sender) == fields(UserRef)
