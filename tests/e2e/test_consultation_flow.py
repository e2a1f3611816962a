"""The whole visit through real sockets: book, intake, waiting room, admit, chat, notes, close."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import uuid

import httpx

from careconnect.client import Appointment, HubClient, Rejected, RoomState
from tests.client.helpers import next_of
from tests.consult_helpers import ALL_DAY, INTAKE
from tests.helpers import PASSWORD, email
from tests.live import LiveServer


async def person(http: httpx.AsyncClient, role: str, **extra) -> dict:
    body = {"email": email(role), "password": PASSWORD, "full_name": f"E2E {role}", "role": role, **extra}
    if role == "doctor":
        body["doctor"] = {"specialty": "General practice"}
    assert (await http.post("/api/v1/auth/register", json=body)).status_code == 201
    login = (await http.post("/api/v1/auth/login", json={"email": body["email"], "password": PASSWORD})).json()
    return {
        "id": login["user"]["id"],
        "token": login["access_token"],
        "h": {"Authorization": f"Bearer {login['access_token']}"},
    }


async def test_visit_end_to_end(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        doctor = await person(http, "doctor")
        patient = await person(http, "patient", timezone="America/New_York")
        availability = {
            "timezone": "UTC",
            "slot_minutes": 10,
            "min_notice_minutes": 0,
            "horizon_days": 7,
            "weekly": ALL_DAY,
            "exceptions": [],
        }
        assert (
            await http.put("/api/v1/doctors/me/availability", json=availability, headers=doctor["h"])
        ).status_code == 200

        doc_ws = HubClient(live.ws_url, doctor["token"])
        pat_ws = HubClient(live.ws_url, patient["token"])
        await doc_ws.connect()
        await pat_ws.connect()
        try:
            now = dt.datetime.now(dt.UTC)
            slots = (
                await http.get(
                    f"/api/v1/doctors/{doctor['id']}/slots",
                    headers=patient["h"],
                    params={
                        "from": (now + dt.timedelta(minutes=1)).isoformat(),
                        "to": (now + dt.timedelta(days=1)).isoformat(),
                    },
                )
            ).json()
            booked = await http.post(
                "/api/v1/appointments",
                json={"doctor_id": doctor["id"], "starts_at": slots["slots"][0]["starts_at"], "reason": "Fever"},
                headers={**patient["h"], "Idempotency-Key": uuid.uuid4().hex},
            )
            assert booked.status_code == 201
            aid = booked.json()["id"]
            event = await next_of(doc_ws, Appointment)
            assert event.appointment["id"] == aid and event.appointment["status"] == "booked"
            assert (
                await http.put(f"/api/v1/appointments/{aid}/intake", json=INTAKE, headers=patient["h"])
            ).status_code == 200

            room = f"consultation:{aid}"
            pat_room = await pat_ws.join(room)
            assert pat_room.joined is not None and pat_room.joined.state == "booked"
            try:
                await pat_ws.send(room, "too early")
                raise AssertionError("a booked room must be read-only")
            except Rejected as exc:
                assert exc.code == "room_closed"

            # The waiting room: the doctor's dashboard learns at once.
            assert (await http.post(f"/api/v1/consultations/{aid}/check-in", headers=patient["h"])).status_code == 200
            waiting = await next_of(doc_ws, Appointment)
            assert waiting.appointment["status"] == "checked_in"
            assert (await next_of(pat_ws, RoomState)).state == "checked_in"

            doc_room = await doc_ws.join(room)
            assert doc_room.joined is not None and doc_room.joined.state == "checked_in"
            # The waiting room is writable (PROTOCOL.md): both sides chat before the visit starts.
            early = await pat_ws.send(room, "I am in the waiting room")
            assert (await doc_room.get(timeout=10)).seq == early.seq
            assert (await pat_room.get(timeout=10)).seq == early.seq
            late = await doc_ws.send(room, "Running 5 minutes late, sorry")
            assert (await pat_room.get(timeout=10)).body == "Running 5 minutes late, sorry"
            assert (await doc_room.get(timeout=10)).seq == late.seq
            assert (await http.post(f"/api/v1/consultations/{aid}/start", headers=doctor["h"])).status_code == 200
            assert (await next_of(pat_ws, RoomState)).state == "in_progress"

            ack = await pat_ws.send(room, "Hello doctor <script>x</script>")
            assert ack.seq >= 1
            seen = await doc_room.get(timeout=10)
            assert seen.body == "Hello doctor <script>x</script>" and seen.sender.id == patient["id"]
            reply = await doc_ws.send(room, "Hello, how long have you had the fever?")
            assert reply.seq == ack.seq + 1
            assert (await pat_room.get(timeout=10)).seq == ack.seq  # the patient's own echo first
            assert (await pat_room.get(timeout=10)).body.startswith("Hello, how long")

            notes = await http.put(
                f"/api/v1/consultations/{aid}/notes", json={"text": "Viral, likely", "version": 0}, headers=doctor["h"]
            )
            assert notes.status_code == 200
            summary = await http.put(
                f"/api/v1/consultations/{aid}/summary",
                json={"text": "Rest and fluids", "version": 0},
                headers=doctor["h"],
            )
            assert summary.status_code == 200
            assert (await http.post(f"/api/v1/consultations/{aid}/complete", headers=doctor["h"])).status_code == 200
            assert (await next_of(pat_ws, RoomState)).state == "completed"
            try:
                await pat_ws.send(room, "one more thing")
                raise AssertionError("a completed room must be read-only")
            except Rejected as exc:
                assert exc.code == "room_closed"

            # The patient reads the summary and their past visits, never the notes.
            assert (await http.get(f"/api/v1/consultations/{aid}/summary", headers=patient["h"])).json()[
                "text"
            ] == "Rest and fluids"
            assert (await http.get(f"/api/v1/consultations/{aid}/notes", headers=patient["h"])).status_code == 404
            past = (await http.get("/api/v1/appointments", params={"scope": "past"}, headers=patient["h"])).json()
            assert [a["id"] for a in past["items"]] == [aid]
            history = await http.get(f"/api/v1/patients/{patient['id']}/history", headers=doctor["h"])
            assert history.json()["appointments"][0]["notes"]["text"] == "Viral, likely"
            messages = (
                await http.get(f"/api/v1/consultations/{aid}/messages", params={"after_seq": 0}, headers=patient["h"])
            ).json()
            assert [m["seq"] for m in messages["items"]] == [early.seq, late.seq, ack.seq, ack.seq + 1]
        finally:
            await doc_ws.close()
            await pat_ws.close()
        await assert_audit_trail(http, live, aid, patient["id"], doctor["id"])


async def assert_audit_trail(
    http: httpx.AsyncClient, live: LiveServer, aid: str, patient_id: str, doctor_id: str
) -> None:
    admin_email = email("admin")
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "careconnect", "create-admin", "--email", admin_email, "--password", PASSWORD],
        env=live.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    token = (await http.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})).json()[
        "access_token"
    ]
    entries = (
        await http.get(
            "/api/v1/admin/audit",
            params={"patient_id": patient_id, "limit": 500},
            headers={"Authorization": f"Bearer {token}"},
        )
    ).json()["items"]
    trail = {(e["action"], e["actor"]["id"], e["outcome"]) for e in entries}
    expected = {
        ("intake.write", patient_id, "success"),
        ("messages.read", patient_id, "success"),
        ("messages.read", doctor_id, "success"),
        ("messages.write", patient_id, "success"),  # each hub send, in the transaction that stored it
        ("messages.write", doctor_id, "success"),
        ("notes.write", doctor_id, "success"),
        ("summary.write", doctor_id, "success"),
        ("summary.read", patient_id, "success"),
        ("notes.read", patient_id, "not_found"),
        ("history.read", doctor_id, "success"),
    }
    assert expected <= trail, expected - trail
    assert all(e["resource_id"] in (aid, patient_id) for e in entries)
    # Never bodies or tokens.
    text = str(entries)
    for secret in ("Rest and fluids", "Viral, likely", "Hello doctor", "Bearer", INTAKE["chief_complaint"]):
        assert secret not in text
