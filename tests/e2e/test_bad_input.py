"""Issue 15, items 2, 5 and 6 through a real server (SQLite, and PostgreSQL + Redis): no one's
input breaks anyone else's conversation, a room has one spelling, and nothing answers 500/1011."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx

from tests.consult_helpers import open_consultation
from tests.helpers import PASSWORD, email
from tests.hub.harness import Raw
from tests.live import LiveServer

ATTACKER_SOCKETS, BAD_PER_SOCKET, GOOD_MESSAGES = 8, 5, 15


async def joined(live: LiveServer, token: str, room: str) -> Raw:
    sock = await Raw.open(live.ws_url, token)
    await sock.send({"type": "join", "room": room})
    await sock.recv_type("joined", timeout=10)
    return sock


async def reply(sock: Raw, frame: dict) -> dict:
    """The first ack or error answering ``frame`` (messages and presence go by)."""
    await sock.send(frame)
    async with asyncio.timeout(15):
        while True:
            answer = await sock.recv(15)
            if answer.get("type") in ("ack", "error", "joined"):
                return answer


async def test_nul_bodies_from_many_sockets_never_cost_another_patient_a_message(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        target = await open_consultation(http)  # the attacker is this consultation's patient
        victim = await open_consultation(http)  # another patient, another doctor, another room
        attackers = [await joined(live, target["patient"]["token"], target["room"]) for _ in range(ATTACKER_SOCKETS)]
        patient = await joined(live, victim["patient"]["token"], victim["room"])
        doctor = await joined(live, victim["doctor"]["token"], victim["room"])

        async def attack(sock: Raw, n: int) -> list[dict]:
            for i in range(BAD_PER_SOCKET):
                await sock.send({"type": "send", "room": target["room"], "id": f"bad-{n}-{i}", "body": f"x\x00{i}"})
                await asyncio.sleep(0)
            answers = []  # each bad frame's answer: its error (or, before the fix, an ack)
            async with asyncio.timeout(20):
                while len(answers) < BAD_PER_SOCKET:
                    answer = await sock.recv(20)
                    if answer.get("type") in ("ack", "error"):
                        answers.append(answer)
            return answers

        async def talk() -> list[dict]:  # a burst too, so commit batches mix both rooms
            for i in range(GOOD_MESSAGES):
                await patient.send({"type": "send", "room": victim["room"], "id": f"g{i}", "body": f"ok {i}"})
            answers = []
            async with asyncio.timeout(20):
                while len(answers) < GOOD_MESSAGES:
                    answer = await patient.recv(20)
                    if answer.get("type") in ("ack", "error"):
                        answers.append(answer)
            return answers

        *refused, acks = await asyncio.gather(*(attack(s, n) for n, s in enumerate(attackers)), talk())
        # The other patient first: every message acked, in order (before the fix, on PostgreSQL,
        # a batch shared with a NUL body failed whole and took these with it).
        assert [(a["type"], a.get("id") or a.get("ref"), a.get("seq")) for a in acks] == [
            ("ack", f"g{i}", i + 1) for i in range(GOOD_MESSAGES)
        ]
        for n, errors in enumerate(refused):
            assert [(e["type"], e.get("code"), e.get("ref")) for e in errors] == [
                ("error", "bad_request", f"bad-{n}-{i}") for i in range(BAD_PER_SOCKET)
            ], errors
        delivered = [await doctor.recv_type("message", timeout=15) for _ in range(GOOD_MESSAGES)]
        assert [m["body"] for m in delivered] == [f"ok {i}" for i in range(GOOD_MESSAGES)]
        stored = (
            await http.get(
                f"/api/v1/consultations/{victim['id']}/messages",
                params={"after_seq": 0},
                headers=victim["patient"]["h"],
            )
        ).json()["items"]
        assert [m["id"] for m in stored] == [f"g{i}" for i in range(GOOD_MESSAGES)]
        nothing = await http.get(
            f"/api/v1/consultations/{target['id']}/messages", params={"after_seq": 0}, headers=target["patient"]["h"]
        )
        assert nothing.json()["items"] == []
        # The attacker's sockets are still open and usable: the refusal was for those frames alone.
        assert (await reply(attackers[0], {"type": "send", "room": target["room"], "id": "ok", "body": "sorry"}))[
            "type"
        ] == "ack"
        for sock in (*attackers, patient, doctor):
            await sock.close()


def spellings(aid: str) -> list[str]:
    """The same appointment id spelled every other way ``uuid.UUID`` (or a careless client) accepts."""
    return [
        f"consultation:{aid.upper()}",
        f"consultation:{{{aid}}}",
        f"consultation:{aid.replace('-', '')}",
        f"consultation:urn:uuid:{aid}",
        f"consultation: {aid}",
        f"consultation:{aid} ",
        f"Consultation:{aid}",
    ]


async def bot_token(http: httpx.AsyncClient, live: LiveServer) -> tuple[str, str]:
    """A new integration's client id and a bot access token for it (the admin is made by the CLI)."""
    admin_email = email("admin")
    made = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "careconnect", "create-admin", "--email", admin_email, "--password", PASSWORD],
        env=live.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    login = await http.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    creds = (await http.post("/api/v1/admin/integrations", json={"name": "Scribe"}, headers=admin)).json()
    token = await http.post(
        "/api/v1/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    return creds["client_id"], token.json()["access_token"]


async def test_a_room_has_one_spelling_on_every_frame(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        visit = await open_consultation(http)
        sock = await joined(live, visit["patient"]["token"], visit["room"])
        for other in spellings(visit["id"]):
            for frame in (
                {"type": "join", "room": other},
                {"type": "send", "room": other, "id": "s1", "body": "second room?"},
                {"type": "typing", "room": other},
                {"type": "read", "room": other, "seq": 1},
                {"type": "leave", "room": other},
            ):
                await sock.send(frame)
                error = await sock.recv_type("error", timeout=10)
                assert (error["code"], error["room"]) == ("not_found", other), (frame, error)
        assert (await reply(sock, {"type": "send", "room": visit["room"], "id": "real", "body": "hi"}))["seq"] == 1
        await sock.close()


async def test_a_removed_bot_cannot_write_through_another_spelling(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        visit = await open_consultation(http)
        client_id, token = await bot_token(http, live)
        invited = await http.post(
            f"/api/v1/consultations/{visit['id']}/participants",
            json={"client_id": client_id},
            headers=visit["doctor"]["h"],
        )
        assert invited.status_code == 201
        upper = f"consultation:{visit['id'].upper()}"
        bot = await joined(live, token, visit["room"])
        assert (await reply(bot, {"type": "join", "room": upper}))["code"] == "not_found"  # was a second room
        assert (await reply(bot, {"type": "send", "room": visit["room"], "id": "b1", "body": "notes ready"}))[
            "seq"
        ] == 1
        removed = await http.delete(
            f"/api/v1/consultations/{visit['id']}/participants/{client_id}", headers=visit["doctor"]["h"]
        )
        assert removed.status_code == 204
        notice = await bot.recv_type("error", timeout=10)
        assert notice["code"] == "forbidden" and notice["room"] == visit["room"]
        for room in (upper, visit["room"]):
            answer = await reply(bot, {"type": "send", "room": room, "id": f"late-{room[-4:]}", "body": "still here"})
            assert answer["type"] == "error" and answer["code"] in ("not_found", "forbidden"), answer
        messages = (
            await http.get(f"/api/v1/consultations/{visit['id']}/messages", headers=visit["patient"]["h"])
        ).json()["items"]
        assert [m["id"] for m in messages] == ["b1"]
        await bot.close()


async def test_no_writes_after_complete_through_another_spelling(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        visit = await open_consultation(http)
        upper = f"consultation:{visit['id'].upper()}"
        sock = await joined(live, visit["patient"]["token"], visit["room"])
        # Before the fix these joined (and wrote to) a second room whose cached state outlived the end.
        assert (await reply(sock, {"type": "join", "room": upper}))["code"] == "not_found"
        assert (await reply(sock, {"type": "send", "room": upper, "id": "u1", "body": "early"}))["code"] == "not_found"
        assert (
            await http.post(f"/api/v1/consultations/{visit['id']}/complete", headers=visit["doctor"]["h"])
        ).status_code == 200
        assert (await sock.recv_type("room_state", timeout=10))["state"] == "completed"
        for room, code in ((upper, "not_found"), (visit["room"], "room_closed")):
            answer = await reply(sock, {"type": "send", "room": room, "id": f"after-{code}", "body": "one more thing"})
            assert (answer["type"], answer.get("code")) == ("error", code), answer
        messages = (
            await http.get(f"/api/v1/consultations/{visit['id']}/messages", headers=visit["patient"]["h"])
        ).json()["items"]
        assert messages == []
        await sock.close()


async def test_hostile_frames_and_urls_get_4xx_never_500_or_1011(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        visit = await open_consultation(http)
        nested = '{"type":"hello","token":"x","client":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
        before = await Raw.open(live.ws_url)
        await before.ws.send(nested)
        assert await before.closed_with() == 4400  # was 1011
        sock = await joined(live, visit["patient"]["token"], visit["room"])
        await sock.ws.send(nested)
        assert (await sock.recv_type("error"))["code"] == "bad_request"
        for since in (2**53 + 1, 2**70):
            assert (await reply(sock, {"type": "join", "room": visit["room"], "since": since}))["code"] == "bad_request"
        for since in (2**31, 2**53):  # beyond the INTEGER column, within the protocol: nothing to replay
            answer = await reply(sock, {"type": "join", "room": visit["room"], "since": since})
            assert answer["type"] == "joined", answer
        await sock.close()
        for path, status in (
            ("/%00", 400),
            ("/api/v1/consultations/%00/messages", 400),
            (f"/api/v1/doctors/{visit['doctor']['id']}/slots?from=9999-12-30T00:00:00Z", 422),
            (f"/api/v1/consultations/{visit['id']}/messages?after_seq={2**63}", 422),
            ("/api/v1/doctors?q=a%00b", 422),
        ):
            response = await http.get(path, headers=visit["patient"]["h"])
            assert response.status_code == status, (path, response.status_code, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        # (The fixture then checks the server's log holds no traceback.)
