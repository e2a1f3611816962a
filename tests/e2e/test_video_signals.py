"""Video call signalling through the real server: the application's rules (members, in progress)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.consult_helpers import open_visit
from tests.e2e.test_hub_edge import hub_socket
from tests.helpers import signed_in
from tests.infra import migrate
from tests.live import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("video-signals")
    url = f"sqlite:///{folder / 'cc.db'}"
    migrate(url)
    live = LiveServer(url, log_path=folder / "server.log").start()
    try:
        yield live
    finally:
        live.stop()


async def next_of(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


async def test_signals_only_between_members_while_the_visit_is_in_progress(server: LiveServer):
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        room = f"consultation:{aid}"
        d = await hub_socket(server.ws_url, doctor["token"], room)
        p = await hub_socket(server.ws_url, patient["token"], room)
        await asyncio.sleep(0.3)
        ring = {"type": "signal", "room": room, "to": patient["id"], "kind": "ring", "data": {"call": "e2e-1"}}
        await d.send(json.dumps(ring))
        got = await next_of(p, "signal")
        assert (got["from"]["id"], got["from"]["role"], got["kind"]) == (doctor["id"], "doctor", "ring")
        accept = {
            "type": "signal",
            "room": room,
            "to": doctor["id"],
            "kind": "ring",
            "data": {"call": "e2e-1", "accept": True},
        }
        await p.send(json.dumps(accept))
        assert (await next_of(d, "signal"))["data"]["accept"] is True
        started = await next_of(d, "message")
        assert (started["kind"], started["body"], started["sender"]["id"]) == (
            "call",
            "Video call started",
            patient["id"],
        )
        # Someone else, even signed in, is no member: they cannot signal into the room.
        _, stranger = await signed_in(http, "patient")
        s = await hub_socket(server.ws_url, stranger["Authorization"].removeprefix("Bearer "))
        await s.send(json.dumps({**ring, "to": doctor["id"]}))
        assert (await next_of(s, "error"))["code"] == "forbidden"
        # The visit ends: the room is closed for calls too.
        assert (await http.post(f"/api/v1/consultations/{aid}/complete", headers=doctor["h"])).status_code == 200
        await next_of(p, "room_state")
        await p.send(json.dumps({**accept, "kind": "hangup"}))
        assert (await next_of(p, "error"))["code"] == "room_closed"
        history = (await http.get(f"/api/v1/consultations/{aid}/messages", headers=patient["h"])).json()["items"]
        assert [(m["kind"], m["body"]) for m in history] == [("call", "Video call started")]
        for ws in (d, p, s):
            await ws.close()
