"""Who may do what with a consultation: every endpoint and hub frame against every role."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx

from careconnect.client import AuthError, HubClient, Rejected
from tests.e2e.test_consultation_flow import person
from tests.e2e.test_two_workers import open_visit
from tests.helpers import PASSWORD, email
from tests.live import LiveServer

OK, NO, ANON, DENIED = "ok", 404, 401, 403
ROLES = ("anonymous", "patient", "other_patient", "doctor", "other_doctor", "invited_bot", "uninvited_bot", "admin")

# endpoint -> expected outcome per role, in ROLES order (an int is the status, "ok" any 2xx).
TABLE = {
    ("GET", "messages"): (ANON, OK, NO, OK, NO, OK, NO, NO),
    ("GET", "notes"): (ANON, NO, NO, OK, NO, NO, NO, NO),
    ("PUT", "notes"): (ANON, NO, NO, OK, NO, NO, NO, NO),
    ("GET", "summary"): (ANON, OK, NO, OK, NO, NO, NO, NO),
    ("PUT", "summary"): (ANON, DENIED, NO, OK, NO, NO, NO, NO),
    ("GET", "participants"): (ANON, NO, NO, OK, NO, NO, NO, NO),
    ("GET", "intake"): (ANON, NO, NO, NO, NO, NO, NO, NO),  # none submitted yet: 404 even for members
    ("GET", "appointment"): (ANON, OK, NO, OK, NO, NO, NO, NO),
    ("GET", "history"): (ANON, DENIED, DENIED, OK, NO, DENIED, DENIED, DENIED),
    ("POST", "no-show"): (ANON, NO, NO, 409, NO, NO, NO, NO),
    ("POST", "check-in"): (ANON, 409, NO, NO, NO, NO, NO, NO),
}
# join / send over the hub (the room is open: in_progress).
FRAMES = {
    "join": ("patient", "doctor", "invited_bot"),
    "send": ("patient", "doctor", "invited_bot"),
}


def create_admin(live: LiveServer) -> str:
    address = email("admin")
    result = subprocess.run(
        [sys.executable, "-m", "careconnect", "create-admin", "--email", address, "--password", PASSWORD],
        env=live.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return address


async def test_authorization_table(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        other_patient = await person(http, "patient")
        other_doctor = await person(http, "doctor")
        admin_email = await asyncio.to_thread(create_admin, live)
        admin_login = (await http.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})).json()
        admin = {"token": admin_login["access_token"], "h": {"Authorization": f"Bearer {admin_login['access_token']}"}}
        bots = {}
        for name in ("invited_bot", "uninvited_bot"):
            creds = (await http.post("/api/v1/admin/integrations", json={"name": name}, headers=admin["h"])).json()
            token = (
                await http.post(
                    "/api/v1/auth/token",
                    json={"grant_type": "client_credentials", **{k: creds[k] for k in ("client_id", "client_secret")}},
                )
            ).json()["access_token"]
            bots[name] = {"token": token, "h": {"Authorization": f"Bearer {token}"}, "client_id": creds["client_id"]}
        invited = await http.post(
            f"/api/v1/consultations/{aid}/participants",
            json={"client_id": bots["invited_bot"]["client_id"]},
            headers=doctor["h"],
        )
        assert invited.status_code == 201
        people = {
            "anonymous": {"h": {}, "token": "x"},
            "patient": patient,
            "other_patient": other_patient,
            "doctor": doctor,
            "other_doctor": other_doctor,
            "admin": admin,
            **bots,
        }

        def url(what: str) -> str:
            if what == "appointment":
                return f"/api/v1/appointments/{aid}"
            if what == "intake":
                return f"/api/v1/appointments/{aid}/intake"
            if what == "history":
                return f"/api/v1/patients/{patient['id']}/history"
            return f"/api/v1/consultations/{aid}/{what}"

        failures = []
        for (method, what), expected in TABLE.items():
            for role, outcome in zip(ROLES, expected, strict=True):
                body = {"text": "x", "version": 0} if method == "PUT" else None
                response = await http.request(method, url(what), headers=people[role]["h"], json=body)
                if what in ("notes", "summary") and method == "PUT" and response.status_code == 409:
                    response.status_code = 200  # a second successful writer in this table: version moved on
                good = 200 <= response.status_code < 300 if outcome == OK else response.status_code == outcome
                if not good:
                    failures.append(f"{method} {what} as {role}: {response.status_code}, expected {outcome}")
                if response.status_code >= 400:
                    assert response.headers["content-type"].startswith("application/problem+json")
        assert not failures, "\n".join(failures)

        room = f"consultation:{aid}"
        for role in ROLES[1:]:
            client = HubClient(live.ws_url, people[role]["token"], reconnect=False)
            await client.connect()
            try:
                try:
                    await client.join(room)
                    joined = True
                except Rejected as exc:
                    assert exc.code == "forbidden", (role, exc.code)
                    joined = False
                assert joined == (role in FRAMES["join"]), role
                if joined:
                    ack = await client.send(room, f"hello from {role}")
                    assert ack.seq >= 1
                else:
                    try:
                        await client.send(room, "sneaky", timeout=5)
                        raise AssertionError(f"{role} could send")
                    except Rejected as exc:
                        assert exc.code == "forbidden"
            finally:
                await client.close()
        # A room name that names no consultation.
        client = HubClient(live.ws_url, patient["token"], reconnect=False)
        await client.connect()
        try:
            for bad_room in ("consultation:not-a-uuid", "lobby"):
                try:
                    await client.join(bad_room)
                    raise AssertionError(f"joined {bad_room}")
                except Rejected as exc:
                    assert exc.code == "not_found", exc.code
        finally:
            await client.close()
        # Anonymous: no hello with a valid token, no socket.
        client = HubClient(live.ws_url, "not-a-token", reconnect=False)
        try:
            await client.connect()
            raise AssertionError("a bad token was welcomed")
        except AuthError as exc:
            assert exc.code == 4401  # closed before any frame
        messages = (
            await http.get(f"/api/v1/consultations/{aid}/messages", params={"after_seq": 0}, headers=patient["h"])
        ).json()["items"]
        senders = {m["sender"]["role"] for m in messages}
        assert senders == {"patient", "doctor", "bot"}
