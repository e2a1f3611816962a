"""How the load generator speaks to each server: one target per wire protocol.

A target turns ``connect(room, member)`` into a live member that can ``send`` and reports
what it receives to a sink (``careconnect.loadtest.members``). Rooms and members are small
integers chosen by the workload; each target maps them to its own room names (the hub maps
them to real consultation rooms and access tokens from a rooms file, see ``bench.hub_setup``;
its target, ``HubTarget``, is the load tester's own).

Every target uses the same light client (``careconnect.loadtest.wsclient``: websockets'
sans-I/O protocol, frames handled inside ``data_received`` and stamped with their arrival
time) without permessage-deflate (the same for all servers, so no one pays for compression),
and socket.io is spoken directly (engine.io v4 over a WebSocket, no polling) rather than
through python-socketio's AsyncClient, which would cost the load generator several times more
CPU per frame.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import msgspec

from careconnect.loadtest.members import (
    CONNECT_TIMEOUT_S,
    HubTarget,
    Member,
    Sink,
    Target,
    decode_frame,
    follow,
    open_socket,
)
from careconnect.loadtest.rooms import read_rooms_file


class PeerTarget:
    """A peer server under test: fresh room names per run (no state left in Redis counts)."""

    name = "?"
    acks = False

    def __init__(self, url: str) -> None:
        self.url = url
        self.tag = secrets.token_hex(3)

    def room_name(self, room: int) -> str:
        return f"bench-{self.tag}-r{room}"

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        raise NotImplementedError


class PlainJsonTarget(PeerTarget):
    """The peers' shared JSON protocol (websockets ceiling, Litestar channels, Django Channels)."""

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        ws = await open_socket(f"{self.url}?member=m{member}")
        name = self.room_name(room)
        await ws.send(json.dumps({"type": "join", "room": name}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
            if frame.get("type") == "joined":
                break
        m = Member(ws, name, member)

        def handle(raw: bytes, t: int) -> None:
            frame = decode_frame(raw)
            if frame.type == "message":
                sink.on_message(m, frame.id, frame.body, t)

        follow(m, sink, handle)
        return m


class SocketIOMember(Member):
    async def send(self, msg_id: str, body: str) -> None:
        await self.ws.send("42" + json.dumps(["send", {"room": self.room, "id": msg_id, "body": body}]))


class SocketIOTarget(PeerTarget):
    """python-socketio, spoken as engine.io v4 + socket.io v5 packets over a WebSocket."""

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        ws = await open_socket(f"{self.url}/socket.io/?EIO=4&transport=websocket&member=m{member}")
        opened = await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S)
        if not str(opened).startswith("0"):
            raise RuntimeError(f"engine.io open packet expected, got {opened!r}")
        await ws.send("40")
        while not str(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S)).startswith("40"):
            pass
        name = self.room_name(room)
        await ws.send("420" + json.dumps(["join", name]))
        while True:
            packet = str(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
            if packet.startswith("430"):
                break
            if packet == "2":
                await ws.send("3")
        m = SocketIOMember(ws, name, member)
        loads = msgspec.json.decode
        loop = asyncio.get_running_loop()

        def handle(packet: bytes, t: int) -> None:
            if packet.startswith(b"42"):
                event = loads(packet[2:])
                if event[0] == "message":
                    frame = event[1]
                    sink.on_message(m, frame["id"], frame["body"], t)
            elif packet == b"2":  # engine.io ping from the server
                loop.create_task(ws.send("3"))

        follow(m, sink, handle)
        return m


TARGET_KINDS = {
    "ws": PlainJsonTarget,
    "litestar": PlainJsonTarget,
    "django": PlainJsonTarget,
    "socketio": SocketIOTarget,
}


def make_target(kind: str, url: str | list[str], rooms_file: str | None = None) -> Target:
    """The target for ``kind`` at ``url`` (the hub: one URL or several, its members spread over them)."""
    if kind == "careconnect":
        if not rooms_file:
            raise SystemExit("the careconnect target needs --rooms-file (written by python -m bench.hub_setup)")
        return HubTarget(url, read_rooms_file(rooms_file))
    if not isinstance(url, str):
        raise SystemExit(f"the {kind} target takes one URL")
    target = TARGET_KINDS[kind](url)
    target.name = kind
    return target
