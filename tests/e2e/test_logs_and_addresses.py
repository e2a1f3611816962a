"""Issue 15, item 8 through a real server: the client ip and request id that audit entries and
logs keep (TRUSTED_PROXIES), the hub's audit entries with the socket's ip, and log lines that a
client can neither forge (``%0a``) nor fill with its tokens (``?token=``)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.test_consultation_flow import person
from tests.e2e.test_two_workers import open_visit
from tests.helpers import PASSWORD
from tests.infra import migrate
from tests.live import LiveServer


def _server(folder: Path, **env: str) -> LiveServer:
    url = f"sqlite:///{folder / 'cc.db'}"
    migrate(url)
    return LiveServer(url, log_path=folder / "server.log", **env).start()


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No TRUSTED_PROXIES (the default): every client reaches the server directly."""
    server = _server(tmp_path_factory.mktemp("direct"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Behind a proxy on 127.0.0.1 (TRUSTED_PROXIES), as with nginx on the same host."""
    server = _server(tmp_path_factory.mktemp("proxied"), TRUSTED_PROXIES="127.0.0.1,10.0.0.0/8")
    try:
        yield server
    finally:
        server.stop()


def _audit(server: LiveServer, action: str) -> list[dict]:
    path = server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM cc_audit_entry WHERE action = ? ORDER BY at", (action,)).fetchall()
    return [dict(r) for r in rows]


def _message_records(server: LiveServer, room: str) -> list[tuple[str, str]]:
    """The (sender, address) of each message stored in ``room``: the rows the audit log reads as
    its ``messages.write`` entries (``domain/audit/messages.py``)."""
    path = server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT sender_id, sender_address FROM chat_message WHERE room = ? ORDER BY seq", (room,)
        ).fetchall()


def _log(server: LiveServer) -> str:
    assert server.log_path is not None
    return server.log_path.read_text()


async def _log_line(server: LiveServer, *parts: str) -> str:
    """The first log line holding every part; the access line is written after the response is sent."""
    for _ in range(100):
        for line in _log(server).splitlines():
            if all(part in line for part in parts):
                return line
        await asyncio.sleep(0.05)
    raise AssertionError(f"no log line with {parts}")


async def _sign_in(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    who = await person(http, "patient")
    me = (await http.get("/api/v1/users/me", headers=who["h"])).json()
    return await http.post("/api/v1/auth/login", json={"email": me["email"], "password": PASSWORD}, headers=headers)


async def test_a_direct_client_cannot_choose_its_ip_or_the_stored_request_id(direct: LiveServer):
    async with httpx.AsyncClient(base_url=direct.url, timeout=20) as http:
        response = await _sign_in(http, {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "spoofed-id-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "spoofed-id-1"  # echoed, as API.md says
    entry = _audit(direct, "auth.login")[-1]
    assert entry["ip"] == "127.0.0.1" and entry["request_id"] != "spoofed-id-1" and len(entry["request_id"]) == 32
    line = await _log_line(direct, "POST /api/v1/auth/login", "spoofed-id-1")
    assert f"request_id={entry['request_id']}" in line and "client_request_id=spoofed-id-1" in line


async def test_behind_a_trusted_proxy_the_forwarded_ip_and_request_id_count(proxied: LiveServer):
    async with httpx.AsyncClient(base_url=proxied.url, timeout=20) as http:
        # The client wrote 198.51.100.1 itself; our proxies 10.1.2.3 and 127.0.0.1 added the rest.
        forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.1.2.3", "X-Request-ID": "edge-req-7"}
        response = await _sign_in(http, forwarded)
    assert response.status_code == 200 and response.headers["x-request-id"] == "edge-req-7"
    entry = _audit(proxied, "auth.login")[-1]
    assert entry["ip"] == "203.0.113.7" and entry["request_id"] == "edge-req-7"


async def test_hub_audit_entries_carry_the_sockets_ip(proxied: LiveServer):
    async with httpx.AsyncClient(base_url=proxied.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        stranger = await person(http, "patient")
    room = f"consultation:{aid}"
    async with websockets.connect(
        proxied.ws_url, additional_headers={"X-Forwarded-For": "192.0.2.66"}, open_timeout=10
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "token": stranger["token"]}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "welcome"
        await ws.send(json.dumps({"type": "join", "room": room}))
        refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert refused["type"] == "error" and refused["code"] == "forbidden"
    [denied] = [e for e in _audit(proxied, "messages.read") if e["outcome"] == "denied"]
    assert denied["ip"] == "192.0.2.66" and denied["patient_id"] == patient["id"]
    assert denied["actor_id"] == stranger["id"]
    async with websockets.connect(
        proxied.ws_url, additional_headers={"X-Forwarded-For": "192.0.2.44"}, open_timeout=10
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "token": patient["token"]}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "welcome"
        await ws.send(json.dumps({"type": "join", "room": room}))
        await ws.send(json.dumps({"type": "send", "room": room, "id": "m-1", "body": "hello doctor"}))
        seen: list[str] = []
        while "ack" not in seen:
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
    joins = [e for e in _audit(proxied, "messages.read") if e["resource_id"] == aid and e["actor_id"]]
    writes = _message_records(proxied, room)  # a stored message is its own messages.write entry
    assert joins and joins[-1]["ip"] == "192.0.2.44" and joins[-1]["outcome"] == "success"
    assert writes == [(patient["id"], "192.0.2.44")]
    assert joins[-1]["actor_id"] == patient["id"] != doctor["id"]


async def test_a_path_cannot_forge_a_log_line_and_tokens_are_redacted(direct: LiveServer):
    async with httpx.AsyncClient(base_url=direct.url, timeout=20) as http:
        # A route that matches any id: the decoded path holds CR, LF and ESC.
        await http.get("/api/v1/consultations/x%0a2026-01-01 INFO careconnect.access: FORGED%0d%1b[31m/notes")
        await http.get(
            "/api/v1/users/me",
            params={"access_token": "sekrit-access-1", "x": "1", "code": "sekrit-code-1"},
            headers={"User-Agent": b"evil\x9b[2J agent"},  # a C1 control (CSI) as obs-text
        )
    async with websockets.connect(f"{direct.ws_url}?token=sekrit-ws-token-1", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "ping"}))  # before hello: closed with 4400
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    await asyncio.sleep(0.5)
    log = _log(direct)
    assert not any(line.startswith("2026-01-01") for line in log.splitlines())
    forged = next(line for line in log.splitlines() if "FORGED" in line)
    assert "/api/v1/consultations/x\\x0a2026-01-01 INFO" in forged and "\\x0d\\x1b[31m" in forged
    assert "\x1b" not in log and "\r" not in log and "\x9b" not in log
    for secret in ("sekrit-access-1", "sekrit-code-1", "sekrit-ws-token-1"):
        assert secret not in log
    assert "access_token=[redacted]&x=1&code=[redacted]" in log
    assert "/ws?token=[redacted]" in log  # uvicorn's own "WebSocket ... [accepted]" line


async def test_json_logs_escape_and_redact_too(tmp_path: Path):
    server = _server(tmp_path, LOG_JSON="true")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            await http.get(
                "/api/v1/consultations/x%0ay%c2%9bz/notes",
                params={"refresh_token": "sekrit-refresh-2"},
                headers={"User-Agent": b"agent\x9b\x85"},
            )
    finally:
        server.stop()
    lines = [json.loads(line) for line in _log(server).splitlines() if line.startswith("{")]
    [access] = [e for e in lines if e.get("logger") == "careconnect.access" and "consultations" in e["path"]]
    assert access["path"] == "/api/v1/consultations/x\\x0ay\\x9bz/notes"
    assert access["query"] == "refresh_token=[redacted]" and access["user_agent"] == "agent\\x9b\\x85"
    assert "sekrit-refresh-2" not in _log(server)
