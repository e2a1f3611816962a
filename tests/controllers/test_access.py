"""Issue 15, access: a patient's history only for a doctor who treats them, shared only by consent,
and a refused PATCH /users/me changes nothing. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.consult_helpers import INTAKE, book, open_doctor, visit
from tests.helpers import admin, assert_problem, signed_in


def history_url(patient_id: str) -> str:
    return f"/api/v1/patients/{patient_id}/history"


async def audit(client, headers, **params):
    response = await client.get("/api/v1/admin/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_booking_then_cancelling_no_longer_opens_the_history(client):
    """The attack from the issue: register as a doctor, get booked, cancel, read the history."""
    v = await visit(client)  # the patient's real doctor, with intake, notes and a summary
    cid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    pid = v["patient"]["id"]
    assert (await client.put(f"/api/v1/appointments/{cid}/intake", json=INTAKE, headers=p)).status_code == 200
    await client.put(f"/api/v1/consultations/{cid}/notes", json={"text": "private", "version": 0}, headers=d)
    await client.put(f"/api/v1/consultations/{cid}/summary", json={"text": "for you", "version": 0}, headers=d)

    rogue, rogue_headers = await open_doctor(client, full_name="Rogue Doctor")
    # Cancelled by the rogue doctor...
    first = await book(client, rogue["id"], p, skip=2)
    cancelled = await client.post(f"/api/v1/appointments/{first['id']}/cancel", json={}, headers=rogue_headers)
    assert cancelled.json()["status"] == "cancelled"
    body = assert_problem(await client.get(history_url(pid), headers=rogue_headers), 404, "not_found")
    assert "Headache" not in str(body) and "for you" not in str(body)
    # ... or by the patient: the same.
    second = await book(client, rogue["id"], p, skip=3)
    await client.post(f"/api/v1/appointments/{second['id']}/cancel", json={}, headers=p)
    assert_problem(await client.get(history_url(pid), headers=rogue_headers), 404, "not_found")
    # A never-existing patient and a malformed id look the same.
    assert_problem(
        await client.get(history_url("00000000-0000-0000-0000-000000000000"), headers=rogue_headers), 404, "not_found"
    )
    assert_problem(await client.get(history_url("nope"), headers=rogue_headers), 404, "not_found")
    # The refused reads are audited, with the patient named.
    _, admin_headers = await admin(client)
    denied = await audit(client, admin_headers, actor_id=rogue["id"], action="history.read")
    assert [e["outcome"] for e in denied if e["patient_id"] == pid] == ["not_found", "not_found"]
    # The patient's own doctor still reads everything of their own visit.
    mine = await client.get(history_url(pid), headers=d)
    assert mine.status_code == 200
    entry = {e["appointment"]["id"]: e for e in mine.json()["appointments"]}[cid]
    assert entry["notes"]["text"] == "private" and entry["summary"]["text"] == "for you"


async def test_a_treating_doctor_sees_only_their_own_visits_unless_the_patient_shares(client):
    v = await visit(client)
    cid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    pid = v["patient"]["id"]
    assert (await client.put(f"/api/v1/appointments/{cid}/intake", json=INTAKE, headers=p)).status_code == 200
    await client.put(f"/api/v1/consultations/{cid}/notes", json={"text": "doctor one only", "version": 0}, headers=d)
    await client.put(f"/api/v1/consultations/{cid}/summary", json={"text": "summary one", "version": 0}, headers=d)

    doctor2, d2 = await open_doctor(client)
    theirs = await book(client, doctor2["id"], p, skip=3)  # a live (booked) appointment
    await client.put(
        f"/api/v1/consultations/{theirs['id']}/notes", json={"text": "doctor two only", "version": 0}, headers=d2
    )

    async def seen_by(headers):
        response = await client.get(history_url(pid), headers=headers)
        assert response.status_code == 200, response.text
        return {e["appointment"]["id"]: e for e in response.json()["appointments"]}

    # Not shared (the default): each doctor sees their own visit only.
    me = (await client.get("/api/v1/users/me", headers=p)).json()
    assert me["patient"] == {"share_history": False}
    assert set(await seen_by(d2)) == {theirs["id"]}
    assert (await seen_by(d2))[theirs["id"]]["notes"]["text"] == "doctor two only"
    assert set(await seen_by(d)) == {cid}

    # Shared: other doctors' visits appear with intake and summary, never their notes.
    shared = await client.patch("/api/v1/users/me", json={"patient": {"share_history": True}}, headers=p)
    assert shared.status_code == 200, shared.text
    assert shared.json()["patient"] == {"share_history": True}
    as_two = await seen_by(d2)
    assert set(as_two) == {cid, theirs["id"]}
    assert as_two[cid]["intake"]["chief_complaint"] == INTAKE["chief_complaint"]
    assert as_two[cid]["summary"]["text"] == "summary one"
    assert "notes" not in as_two[cid]
    as_one = await seen_by(d)
    assert set(as_one) == {cid, theirs["id"]} and "notes" not in as_one[theirs["id"]]
    assert "doctor one only" not in str(as_two) and "doctor two only" not in str(as_one)

    # Unshared again: gone again.
    unshared = await client.patch("/api/v1/users/me", json={"patient": {"share_history": False}}, headers=p)
    assert unshared.json()["patient"] == {"share_history": False}
    assert set(await seen_by(d2)) == {theirs["id"]}

    # Every change is an audit entry: who, what, when, from where.
    _, admin_headers = await admin(client)
    changes = [
        e
        for e in await audit(client, admin_headers, actor_id=pid)
        if e["action"] in ("history.share", "history.unshare")
    ]
    assert [e["action"] for e in changes] == ["history.unshare", "history.share"]  # newest first
    for entry in changes:
        assert entry["actor"] == {"id": pid, "role": "patient"}
        assert entry["patient_id"] == pid and entry["resource_id"] == pid and entry["outcome"] == "success"
        assert entry["ip"] == "127.0.0.1" and entry["request_id"]


async def test_only_patients_share_and_doctors_have_no_patient_part(client):
    doctor, d = await signed_in(client, "doctor")
    assert "patient" not in doctor
    refused = await client.patch(
        "/api/v1/users/me", json={"full_name": "Renamed", "patient": {"share_history": True}}, headers=d
    )
    body = assert_problem(refused, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["patient"]
    assert (await client.get("/api/v1/users/me", headers=d)).json()["full_name"] == doctor["full_name"]


async def test_a_refused_patch_changes_nothing(client):
    patient, p = await signed_in(client, "patient", full_name="Original Name")
    refusals = [
        ({"full_name": "Changed", "doctor": {"specialty": "Surgery"}}, ["doctor"]),
        ({"full_name": "Changed", "timezone": "Mars/Olympus_Mons"}, ["timezone"]),
        ({"full_name": "   ", "timezone": "Asia/Tokyo"}, ["full_name"]),
        ({"timezone": "Asia/Tokyo", "patient": {"share_history": True}, "doctor": {"bio": "x"}}, ["doctor"]),
    ]
    for body, fields in refusals:
        response = await client.patch("/api/v1/users/me", json=body, headers=p)
        problem = assert_problem(response, 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == fields, problem
        me = (await client.get("/api/v1/users/me", headers=p)).json()
        assert me["full_name"] == "Original Name", body
        assert me["timezone"] == "Europe/Paris", body
        assert me["patient"] == {"share_history": False}, body
    # Nothing refused was audited as a change either.
    _, admin_headers = await admin(client)
    assert not [e for e in await audit(client, admin_headers, actor_id=patient["id"]) if "share" in e["action"]]

    doctor, d = await signed_in(client, "doctor", full_name="Dr Original")
    response = await client.patch(
        "/api/v1/users/me", json={"full_name": "Dr Changed", "doctor": {"specialty": "  ", "bio": "new"}}, headers=d
    )
    assert_problem(response, 422, "validation_error")
    me = (await client.get("/api/v1/users/me", headers=d)).json()
    assert me["full_name"] == "Dr Original" and me["doctor"]["specialty"] == "Cardiology" and me["doctor"]["bio"] == ""
    # A good request still saves every part.
    ok = await client.patch(
        "/api/v1/users/me",
        json={"full_name": " Dr New ", "timezone": "Asia/Tokyo", "doctor": {"bio": "Hearts.", "languages": ["en"]}},
        headers=d,
    )
    assert ok.status_code == 200, ok.text
    saved = ok.json()
    assert (saved["full_name"], saved["timezone"], saved["doctor"]["bio"]) == ("Dr New", "Asia/Tokyo", "Hearts.")
    assert saved["doctor"]["verification"] == "approved"  # DOCTOR_REGISTRATION=open (the test default)
