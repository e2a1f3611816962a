"""The server API on a real server: a message a bot posts over HTTP reaches the room's sockets
live, as a socket's send does (stored, then broadcast; through the broker to another server
process), and a repeat of its id delivers nothing twice."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.consult_helpers import open_visit
from tests.e2e.integrations import bot_token
from tests.e2e.test_authorization import create_admin
from tests.e2e.test_hub_edge import hub_socket
from tests.helpers import PASSWORD
from tests.infra import REDIS_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres, need_redis
from tests.live import LiveServer


async def publishing_bot(http: httpx.AsyncClient, live: LiveServer, doctor: dict[str, Any], aid: str) -> str:
    """An integration with the publish scope, invited to the visit: its bot's token."""
    admin_email = await asyncio.to_thread(create_admin, live)
    login = await http.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    made = await http.post("/api/v1/admin/integrations", json={"name": "Scribe", "scopes": ["publish"]}, headers=admin)
    assert made.status_code == 201, made.text
    creds = made.json()
    invited = await http.post(
        f"/api/v1/consultations/{aid}/participants", json={"client_id": creds["client_id"]}, headers=doctor["h"]
    )
    assert invited.status_code == 201, invited.text
    return await bot_token(http, creds)


async def next_message(ws: websockets.ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while (frame := json.loads(await ws.recv()))["type"] != "message":
            pass
    return dict(frame)


async def post_and_hear(api: str, hub: LiveServer, token_source: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=token_source.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        token = await publishing_bot(http, token_source, doctor, aid)
    room = f"consultation:{aid}"
    ws = await hub_socket(hub.ws_url, patient["token"], room)
    try:
        async with httpx.AsyncClient(base_url=api, timeout=20) as http:
            bot = {"Authorization": f"Bearer {token}"}
            url = f"/api/v1/rooms/{room}/messages"
            first = await http.post(url, json={"id": "note-1", "body": "Your results are in."}, headers=bot)
            assert first.status_code == 201, first.text
            heard = await next_message(ws)
            assert heard["seq"] == first.json()["seq"] == 1 and heard["id"] == "note-1"
            assert heard["body"] == "Your results are in." and heard["sender"]["role"] == "bot"
            assert heard["ts"] == first.json()["ts"]
            again = await http.post(url, json={"id": "note-1", "body": "Your results are in."}, headers=bot)
            assert again.status_code == 200 and again.json() == first.json()
            marker = await http.post(url, json={"id": "note-2", "body": "Second."}, headers=bot)
            assert marker.status_code == 201
            after = await next_message(ws)  # the repeat delivered nothing: the next frame is the marker
            assert (after["id"], after["seq"]) == ("note-2", 2)
    finally:
        await ws.close()


async def test_a_posted_message_reaches_the_rooms_sockets_once(live: LiveServer) -> None:
    await post_and_hear(live.url, live, live)


@pytest.mark.slow
@pytest.mark.cluster  # several servers or workers: make test-cluster
async def test_a_message_posted_to_one_server_reaches_a_socket_on_another(tmp_path: Any) -> None:
    need_postgres()
    need_redis()
    url, name = create_postgres_database()
    redis = REDIS_URL.rsplit("/", 1)[0] + "/6"
    migrate(url)
    one = LiveServer(url, redis_url=redis, log_path=tmp_path / "one.log").start()
    two = LiveServer(url, redis_url=redis, log_path=tmp_path / "two.log").start()
    try:
        await post_and_hear(two.url, one, one)  # the socket on one, the POST to two
    finally:
        one.stop()
        two.stop()
        drop_postgres_database(name)
    for log in ("one.log", "two.log"):
        assert "Traceback" not in (tmp_path / log).read_text()
