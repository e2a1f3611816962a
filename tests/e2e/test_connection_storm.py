"""1,000 sockets connecting at once to one worker (PostgreSQL + Redis): every one is welcomed
and joined, a message then reaches each exactly once, and the server stays healthy."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import uuid

import httpx
import pytest
import websockets

from tests.e2e.test_two_workers import open_visit
from tests.infra import REDIS_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres, need_redis
from tests.live import LiveServer

pytestmark = pytest.mark.slow

SOCKETS = 1_000


def _enough_descriptors(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= needed, "raise `ulimit -n` to run this test"


async def _member(url: str, token: str, room: str) -> websockets.ClientConnection:
    """Connect, say hello and join; the socket is returned only once the hub has said ``joined``."""
    ws = await websockets.connect(url, open_timeout=60, ping_interval=None, compression=None)
    await ws.send(json.dumps({"type": "hello", "token": token, "client": "storm"}))
    await ws.send(json.dumps({"type": "join", "room": room, "since": 0}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame["type"] == "joined":
            return ws
        assert frame["type"] in ("welcome", "presence", "room_state"), frame


async def _next_message(ws: websockets.ClientConnection) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame["type"] == "message":
            return frame


async def test_a_thousand_sockets_connect_at_once(tmp_path):
    need_postgres()
    need_redis()
    _enough_descriptors(2 * SOCKETS + 200)
    url, name = create_postgres_database()
    migrate(url)
    server = LiveServer(url, redis_url=REDIS_URL.rsplit("/", 1)[0] + "/6", log_path=tmp_path / "server.log")
    server.start()
    sockets: list[websockets.ClientConnection] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            doctor, patient, aid = await open_visit(http)
        room = f"consultation:{aid}"
        tokens = [patient["token"], doctor["token"]]
        # All at once: no pacing, no retry. Each must get through on its own.
        results = await asyncio.gather(
            *(_member(server.ws_url, tokens[i % 2], room) for i in range(SOCKETS)), return_exceptions=True
        )
        sockets = [r for r in results if isinstance(r, websockets.ClientConnection)]
        failures = [repr(r) for r in results if not isinstance(r, websockets.ClientConnection)]
        assert not failures, f"{len(failures)} of {SOCKETS} failed, e.g. {failures[:3]}"

        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            metrics = (await http.get("/metrics")).text
            assert (await http.get("/readyz")).status_code == 200
        open_sockets = next(
            float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("careconnect_hub_open_sockets")
        )
        assert open_sockets >= SOCKETS

        # One message reaches every socket exactly once (the sender's own sockets included).
        client_id = uuid.uuid4().hex
        await sockets[0].send(json.dumps({"type": "send", "room": room, "id": client_id, "body": "all of you"}))
        frames = await asyncio.gather(*(_next_message(ws) for ws in sockets))
        assert {f["id"] for f in frames} == {client_id}
        assert len({f["seq"] for f in frames}) == 1
    finally:
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        server.stop()
        drop_postgres_database(name)
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]
