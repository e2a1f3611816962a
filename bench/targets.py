"""How the load generator speaks to each server: one ``Target`` per wire protocol.

A target turns ``connect(room, member)`` into a live ``Member`` that can ``send`` and reports
what it receives to a ``Sink``. Rooms and members are small integers chosen by the workload;
each target maps them to its own room names (the hub maps them to real consultation rooms
and access tokens from a rooms file, see ``bench.hub_setup``).

Every target uses the same light client (``bench.wsclient``: websockets' sans-I/O protocol,
frames handled inside ``data_received`` and stamped with their arrival time) without
permessage-deflate (the same for all servers, so no one pays for compression), and socket.io
is spoken directly (engine.io v4 over a WebSocket, no polling) rather than through
python-socketio's AsyncClient, which would cost the load generator several times more CPU per
frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from websockets.exceptions import ConnectionClosed

from bench.wsclient import LightSocket

if TYPE_CHECKING:
    from collections.abc import Callable

CONNECT_TIMEOUT_S = 30.0
MAX_FRAME = 1 << 20


class Incoming(msgspec.Struct):
    """The fields the load generator reads from a JSON frame (the rest are skipped unparsed)."""

    type: str = ""
    id: str = ""
    body: str = ""
    code: str | int | None = None


_decode = msgspec.json.Decoder(Incoming).decode


class Sink(Protocol):
    """Where members report what they see; ``t`` is ``time.perf_counter_ns()`` at receipt."""

    def on_message(self, member: Member, msg_id: str, body: str, t: int) -> None: ...
    def on_ack(self, msg_id: str, t: int) -> None: ...
    def on_error(self, code: str) -> None: ...
    def on_closed(self, member: Member, code: int | None) -> None: ...


class Member:
    """One connection joined to one room."""

    def __init__(self, ws: LightSocket, room: str, index: int) -> None:
        self.ws = ws
        self.room = room
        self.index = index
        self.closing = False

    async def send(self, msg_id: str, body: str) -> None:
        await self.ws.send(json.dumps({"type": "send", "room": self.room, "id": msg_id, "body": body}))

    async def close(self) -> None:
        self.closing = True
        with contextlib.suppress(TimeoutError, ConnectionClosed, OSError):
            await asyncio.wait_for(self.ws.close(), 5)


class Target:
    """A server under test. Subclasses implement ``connect``."""

    name = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        self.tag = secrets.token_hex(3)  # fresh room names per run: no state left in Redis counts

    def room_name(self, room: int) -> str:
        return f"bench-{self.tag}-r{room}"

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        raise NotImplementedError

    async def _open(self, url: str) -> LightSocket:
        return await LightSocket.connect(url, max_size=MAX_FRAME, timeout=CONNECT_TIMEOUT_S)


def _read_loop(member: Member, sink: Sink, handle: Callable[[bytes, int], None]) -> None:
    """From now on every frame goes to ``handle`` as it arrives; a close the member did not ask for is reported."""
    ws = member.ws
    ws.handler = handle

    def closed(_: object) -> None:
        if not member.closing:
            sink.on_closed(member, ws.close_code)

    ws.closed.add_done_callback(closed)


class PlainJsonTarget(Target):
    """The peers' shared JSON protocol (websockets ceiling, Litestar channels, Django Channels)."""

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        ws = await self._open(f"{self.url}?member=m{member}")
        name = self.room_name(room)
        await ws.send(json.dumps({"type": "join", "room": name}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
            if frame.get("type") == "joined":
                break
        m = Member(ws, name, member)

        def handle(raw: bytes, t: int) -> None:
            frame = _decode(raw)
            if frame.type == "message":
                sink.on_message(m, frame.id, frame.body, t)

        _read_loop(m, sink, handle)
        return m


class SocketIOMember(Member):
    async def send(self, msg_id: str, body: str) -> None:
        await self.ws.send("42" + json.dumps(["send", {"room": self.room, "id": msg_id, "body": body}]))


class SocketIOTarget(Target):
    """python-socketio, spoken as engine.io v4 + socket.io v5 packets over a WebSocket."""

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        ws = await self._open(f"{self.url}/socket.io/?EIO=4&transport=websocket&member=m{member}")
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

        _read_loop(m, sink, handle)
        return m


class HubTarget(Target):
    """CareConnect's hub, spoken as PROTOCOL.md says: hello, join, send, ack, message.

    ``rooms`` is the list written by ``bench.hub_setup``: ``[{"room": "consultation:<id>",
    "tokens": [patient_token, doctor_token]}, ...]``. Workload room ``i`` is ``rooms[i]``;
    member ``j`` authenticates with ``tokens[j % len(tokens)]``.
    """

    def __init__(self, url: str, rooms: list[dict[str, Any]]) -> None:
        super().__init__(url)
        self.rooms = rooms
        self.wrap = False  # idle: many connections may share the rooms (nothing is sent)

    def room_name(self, room: int) -> str:
        if self.wrap:
            room %= len(self.rooms)
        if room >= len(self.rooms):
            raise RuntimeError(f"the rooms file has {len(self.rooms)} rooms, the workload needs room {room}")
        return str(self.rooms[room]["room"])

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        name = self.room_name(room)
        tokens = self.rooms[room % len(self.rooms)]["tokens"]
        ws = await self._open(self.url)
        await ws.send(json.dumps({"type": "hello", "token": tokens[member % len(tokens)], "client": "bench/1"}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
        if frame.get("type") != "welcome":
            raise RuntimeError(f"welcome expected, got {frame}")
        await ws.send(json.dumps({"type": "join", "room": name}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
            kind = frame.get("type")
            if kind == "joined" and frame.get("room") == name:
                break
            if kind == "error":
                raise RuntimeError(f"join {name} refused: {frame}")
        m = Member(ws, name, member)
        loop = asyncio.get_running_loop()

        def handle(raw: bytes, t: int) -> None:
            frame = _decode(raw)
            kind = frame.type
            if kind == "message":
                sink.on_message(m, frame.id, frame.body, t)
            elif kind == "ack":
                sink.on_ack(frame.id, t)
            elif kind == "error":
                sink.on_error(str(frame.code))
            elif kind == "ping":
                loop.create_task(ws.send('{"type":"pong"}'))

        _read_loop(m, sink, handle)
        return m


TARGET_KINDS = {
    "ws": PlainJsonTarget,
    "litestar": PlainJsonTarget,
    "django": PlainJsonTarget,
    "socketio": SocketIOTarget,
}


def make_target(kind: str, url: str, rooms_file: str | None = None) -> Target:
    if kind == "careconnect":
        if not rooms_file:
            raise SystemExit("the careconnect target needs --rooms-file (written by python -m bench.hub_setup)")
        with open(rooms_file) as fh:
            target: Target = HubTarget(url, json.load(fh))
    else:
        target = TARGET_KINDS[kind](url)
    target.name = kind
    return target
