"""The hub's edge through real servers: the Origin check on /ws and per-user limits across two workers."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.e2e.test_consultation_flow import person
from tests.e2e.test_two_workers import open_visit
from tests.infra import REDIS_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres, need_redis
from tests.live import LiveServer

PORTAL = "https://portal.example"


async def hub_socket(url: str, token: str, room: str | None = None, **kwargs) -> websockets.ClientConnection:
    ws = await websockets.connect(url, open_timeout=5, close_timeout=2, **kwargs)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert welcome["type"] == "welcome", welcome
    if room is not None:
        await ws.send(json.dumps({"type": "join", "room": room}))
        async with asyncio.timeout(5):
            while json.loads(await ws.recv())["type"] != "joined":
                pass
    return ws


async def send_many(ws: websockets.ClientConnection, room: str, count: int, tag: str) -> Counter[str]:
    """Send ``count`` messages, then read one answer (ack or error) for each."""
    for i in range(count):
        await ws.send(json.dumps({"type": "send", "room": room, "id": f"{tag}-{i}", "body": f"{tag} {i}"}))
    answers: Counter[str] = Counter()
    async with asyncio.timeout(15):
        while sum(answers.values()) < count:
            frame = json.loads(await ws.recv())
            if frame["type"] == "ack":
                answers["ack"] += 1
            elif frame["type"] == "error" and str(frame.get("ref", "")).startswith(tag):
                answers[frame["code"]] += 1
    return answers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("edge")
    url = f"sqlite:///{folder / 'cc.db'}"
    migrate(url)
    live = LiveServer(url, log_path=folder / "server.log", CORS_ORIGINS=f"{PORTAL},http://localhost:3000").start()
    try:
        yield live
    finally:
        live.stop()


async def test_ws_refuses_a_foreign_origin_before_the_upgrade(server: LiveServer):
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        patient = await person(http, "patient")
    for origin in ("https://evil.example", "null", f"http://localhost:{server.port}", "http://127.0.0.1:1"):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.ws_url, origin=origin, open_timeout=5)
        response = refused.value.response
        assert response.status_code == 403, origin
        assert json.loads(response.body)["code"] == "forbidden"
    # Its own origin (as the web client opens it), a CORS_ORIGINS entry, and no Origin (bots) are accepted.
    for origin in (server.url, PORTAL, "http://localhost:3000", None):
        extra = {"origin": origin} if origin else {}
        ws = await hub_socket(server.ws_url, patient["token"], **extra)
        await ws.close()


async def test_behind_a_trusted_tls_proxy_the_forwarded_origin_counts(tmp_path: Path):
    """A TLS-terminating proxy in TRUSTED_PROXIES: the browser's https origin (X-Forwarded-Proto,
    X-Forwarded-Host) is the server's own; the same headers from an untrusted peer count for nothing."""
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    migrate(url)
    behind = LiveServer(url, log_path=tmp_path / "proxied.log", TRUSTED_PROXIES="127.0.0.1").start()
    direct = LiveServer(url, log_path=tmp_path / "direct.log").start()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "clinic.example"}
    try:
        async with httpx.AsyncClient(base_url=behind.url, timeout=20) as http:
            patient = await person(http, "patient")
        ws = await hub_socket(
            behind.ws_url, patient["token"], origin="https://clinic.example", additional_headers=forwarded
        )
        await ws.close()
        for live in (behind, direct):
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(
                    live.ws_url,
                    origin="https://evil.example",
                    additional_headers={**forwarded, "X-Forwarded-Host": "evil.example"}
                    if live is direct
                    else forwarded,
                    open_timeout=5,
                )
            assert refused.value.response.status_code == 403
    finally:
        behind.stop()
        direct.stop()


@pytest.mark.slow
@pytest.mark.cluster  # several servers or workers: make test-cluster
async def test_one_users_sockets_on_two_workers_share_the_user_limit(tmp_path: Path):
    """Six sockets of one patient, three on each worker, 10 sends each (within the per-socket 20):
    together at most WS_USER_SEND_LIMIT (30) are acked; the doctor is unaffected."""
    need_postgres()
    need_redis()
    url, name = create_postgres_database()
    redis = REDIS_URL.rsplit("/", 1)[0] + "/6"
    migrate(url)
    env = {"WS_USER_SEND_LIMIT": "30"}
    one = LiveServer(url, redis_url=redis, log_path=tmp_path / "one.log", **env).start()
    two = LiveServer(url, redis_url=redis, log_path=tmp_path / "two.log", **env).start()
    sockets: list[websockets.ClientConnection] = []
    try:
        async with httpx.AsyncClient(base_url=one.url, timeout=20) as http:
            doctor, patient, aid = await open_visit(http)
        room = f"consultation:{aid}"
        for worker in (one, two, one, two, one, two):
            sockets.append(await hub_socket(worker.ws_url, patient["token"], room))
        totals: Counter[str] = Counter()
        for answers in await asyncio.gather(*(send_many(ws, room, 10, f"p{n}") for n, ws in enumerate(sockets))):
            totals.update(answers)
        assert totals == Counter(ack=30, rate_limited=30), totals
        doc = await hub_socket(two.ws_url, doctor["token"], room)
        sockets.append(doc)
        assert await send_many(doc, room, 15, "d") == Counter(ack=15)
        async with httpx.AsyncClient(base_url=two.url, timeout=20) as http:
            stored = await http.get(
                f"/api/v1/consultations/{aid}/messages", params={"after_seq": 0, "limit": 200}, headers=patient["h"]
            )
        assert len(stored.json()["items"]) == 45  # the refused sends were never stored
    finally:
        for ws in sockets:
            await ws.close()
        one.stop()
        two.stop()
        drop_postgres_database(name)
    for log in ("one.log", "two.log"):
        text = (tmp_path / log).read_text()
        assert "Traceback" not in text, text[-2000:]
