"""Issue 15, access, through a real server (SQLite; PostgreSQL + Redis): the history attack, sharing
by consent, and a rejected doctor shut out of REST and the hub."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from careconnect.client import Error, HubClient, Rejected
from tests.consult_helpers import ALL_DAY
from tests.e2e.test_authorization import create_admin
from tests.e2e.test_consultation_flow import person
from tests.e2e.test_two_workers import open_visit
from tests.helpers import PASSWORD
from tests.live import LiveServer

HOURS = {
    "timezone": "UTC",
    "slot_minutes": 10,
    "min_notice_minutes": 0,
    "horizon_days": 7,
    "weekly": ALL_DAY,
    "exceptions": [],
}


async def _book(http: httpx.AsyncClient, doctor: dict, patient: dict, skip: int) -> str:
    assert (await http.put("/api/v1/doctors/me/availability", json=HOURS, headers=doctor["h"])).status_code == 200
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
    ).json()["slots"]
    booked = await http.post(
        "/api/v1/appointments",
        headers=patient["h"],
        json={"doctor_id": doctor["id"], "starts_at": slots[skip]["starts_at"]},
    )
    assert booked.status_code == 201, booked.text
    return str(booked.json()["id"])


async def test_history_attack_sharing_and_rejection(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        history = f"/api/v1/patients/{patient['id']}/history"
        await http.put(
            f"/api/v1/consultations/{aid}/notes", json={"text": "secret note", "version": 0}, headers=doctor["h"]
        )
        await http.put(
            f"/api/v1/consultations/{aid}/summary", json={"text": "the summary", "version": 0}, headers=doctor["h"]
        )

        # The attack: a self-registered doctor is booked, cancels, and asks for the history.
        rogue = await person(http, "doctor")
        rogue_visit = await _book(http, rogue, patient, skip=3)
        assert (
            await http.post(f"/api/v1/appointments/{rogue_visit}/cancel", json={}, headers=rogue["h"])
        ).status_code == 200
        refused = await http.get(history, headers=rogue["h"])
        assert refused.status_code == 404 and "the summary" not in refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")

        # Another doctor with a live booking sees their own visit only...
        other = await person(http, "doctor")
        other_visit = await _book(http, other, patient, skip=4)
        seen = (await http.get(history, headers=other["h"])).json()["appointments"]
        assert [e["appointment"]["id"] for e in seen] == [other_visit]
        # ... until the patient shares; never the first doctor's notes. The cancelled rogue never.
        shared = await http.patch("/api/v1/users/me", json={"patient": {"share_history": True}}, headers=patient["h"])
        assert shared.status_code == 200 and shared.json()["patient"] == {"share_history": True}
        seen = {e["appointment"]["id"]: e for e in (await http.get(history, headers=other["h"])).json()["appointments"]}
        assert seen[aid]["summary"]["text"] == "the summary" and "notes" not in seen[aid]
        assert "secret note" not in str(seen)
        assert (await http.get(history, headers=rogue["h"])).status_code == 404

        # The share is audited with the caller's address and request id.
        admin_email = await asyncio.to_thread(create_admin, live)
        login = (await http.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})).json()
        admin = {"Authorization": f"Bearer {login['access_token']}"}
        entries = (
            await http.get(
                "/api/v1/admin/audit", params={"actor_id": patient["id"], "action": "history.share"}, headers=admin
            )
        ).json()["items"]
        assert len(entries) == 1 and entries[0]["ip"] == "127.0.0.1"
        assert entries[0]["request_id"] == shared.headers["x-request-id"]

        # A rejected doctor loses the patient's data over REST and the consultation room on the hub:
        # the socket they are in the room with is put out of it at once, and cannot join again.
        room = f"consultation:{aid}"
        in_room = HubClient(live.ws_url, doctor["token"], reconnect=False)
        await in_room.connect()
        await in_room.join(room)
        assert (await http.post(f"/api/v1/admin/doctors/{doctor['id']}/reject", headers=admin)).status_code == 200
        async with asyncio.timeout(10):
            async for frame in in_room:  # presence and the like go by: the error is the point
                if isinstance(frame, Error):
                    break
        assert frame.code == "forbidden" and frame.room == room
        try:
            await in_room.send(room, "still here?", timeout=5)
            raise AssertionError("a rejected doctor could still send")
        except Rejected as exc:
            assert exc.code == "forbidden"
        await in_room.close()
        assert (await http.get(history, headers=doctor["h"])).status_code == 404
        assert (await http.get(f"/api/v1/consultations/{aid}/messages", headers=doctor["h"])).status_code == 404
        client = HubClient(live.ws_url, doctor["token"], reconnect=False)
        await client.connect()
        try:
            try:
                await client.join(f"consultation:{aid}")
                raise AssertionError("a rejected doctor joined the consultation room")
            except Rejected as exc:
                assert exc.code == "forbidden"
        finally:
            await client.close()
        # The patient keeps their room.
        assert (await http.get(f"/api/v1/consultations/{aid}/messages", headers=patient["h"])).status_code == 200
