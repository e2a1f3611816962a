"""The member model: one connection joined to one room, reporting what it sees to a ``Sink``.

A ``Target`` turns ``connect(room, member)`` (small integers chosen by the workload) into a
live ``Member`` that can ``send``. ``HubTarget`` is CareConnect's hub, spoken as PROTOCOL.md
says (hello, join, send, ack, message); the benchmark adds its peers' protocols beside it
(``bench/targets.py``). Every member rides on the one light client (``wsclient``): frames are
handled inside ``data_received`` and stamped with ``time.perf_counter_ns()`` as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
from websockets.exceptions import ConnectionClosed

from careconnect.loadtest.rooms import RoomSpec
from careconnect.loadtest.wsclient import LightSocket

CONNECT_TIMEOUT_S = 30.0
MAX_FRAME = 1 << 20


class Incoming(msgspec.Struct):
    """The fields the load generator reads from a JSON frame (the rest are skipped unparsed)."""

    type: str = ""
    id: str = ""
    body: str = ""
    code: str | int | None = None
    seq: int = 0


decode_frame = msgspec.json.Decoder(Incoming).decode


class Sink(Protocol):
    """Where members report what they see; ``t`` is ``time.perf_counter_ns()`` at receipt."""

    def on_message(self, member: Member, msg_id: str, body: str, t: int) -> None: ...
    def on_ack(self, msg_id: str, t: int) -> None: ...
    def on_error(self, code: str) -> None: ...
    def on_closed(self, member: Member, code: int | None) -> None: ...


class Member:
    """One connection joined to one room.

    ``out_of_order`` counts message frames whose seq was not above the one before (targets
    without seqs leave it at 0).
    """

    def __init__(self, ws: LightSocket, room: str, index: int, url: str = "") -> None:
        self.ws = ws
        self.room = room
        self.index = index
        self.url = url  # the server it is connected to (a load over several: HubTarget's urls)
        self.closing = False
        self.last_seq = 0
        self.out_of_order = 0

    async def send(self, msg_id: str, body: str) -> None:
        await self.ws.send(json.dumps({"type": "send", "room": self.room, "id": msg_id, "body": body}))

    async def close(self) -> None:
        self.closing = True
        with contextlib.suppress(TimeoutError, ConnectionClosed, OSError):
            await asyncio.wait_for(self.ws.close(), 5)


class Target(Protocol):
    """A server under test: ``name`` goes into the result; ``acks`` says whether sends are acked."""

    name: str
    acks: bool

    def room_name(self, room: int) -> str: ...
    async def connect(self, room: int, member: int, sink: Sink) -> Member: ...


async def open_socket(url: str) -> LightSocket:
    return await LightSocket.connect(url, max_size=MAX_FRAME, timeout=CONNECT_TIMEOUT_S)


def follow(member: Member, sink: Sink, handle: Callable[[bytes, int], None]) -> None:
    """From now on every frame goes to ``handle`` as it arrives; a close the member did not ask for is reported."""
    ws = member.ws
    ws.handler = handle

    def closed(_: object) -> None:
        if not member.closing:
            sink.on_closed(member, ws.close_code)

    ws.closed.add_done_callback(closed)


class HubTarget:
    """CareConnect's hub. Workload room ``i`` is ``rooms[i]``; member ``j`` authenticates with
    ``tokens[j % len(tokens)]`` (patient, doctor, patient, ...).

    ``url`` is one hub endpoint (``ws://host:port/ws``) or several (hosts, or workers, of one
    deployment sharing its PostgreSQL and Redis): the members are spread round-robin over them
    in the order they connect, each staying on its own (``Member.url``); ``per_url`` counts them.
    With two endpoints the two members of a clinic room land on different ones, so every
    delivery the check counts crossed between them. ``wrap`` lets more workload rooms than
    ``rooms`` share them (idle: nothing is sent).
    """

    name = "careconnect"
    acks = True

    def __init__(self, url: str | Sequence[str], rooms: Sequence[RoomSpec], *, client: str = "bench/1") -> None:
        self.urls = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise ValueError("HubTarget needs at least one URL")
        self.url = self.urls[0]
        self.rooms = list(rooms)
        self.client = client
        self.wrap = False
        self.per_url: Counter[str] = Counter()
        self._next = 0

    def room_name(self, room: int) -> str:
        if self.wrap:
            room %= len(self.rooms)
        if room >= len(self.rooms):
            raise RuntimeError(f"the rooms file has {len(self.rooms)} rooms, the workload needs room {room}")
        return self.rooms[room].room

    async def connect(self, room: int, member: int, sink: Sink) -> Member:
        name = self.room_name(room)
        tokens = self.rooms[room % len(self.rooms)].tokens
        url = self.urls[self._next % len(self.urls)]
        self._next += 1
        ws = await open_socket(url)
        await ws.send(json.dumps({"type": "hello", "token": tokens[member % len(tokens)], "client": self.client}))
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
        m = Member(ws, name, member, url)
        self.per_url[url] += 1
        loop = asyncio.get_running_loop()

        def handle(raw: bytes, t: int) -> None:
            frame = decode_frame(raw)
            kind = frame.type
            if kind == "message":
                if frame.seq <= m.last_seq:
                    m.out_of_order += 1
                m.last_seq = frame.seq
                sink.on_message(m, frame.id, frame.body, t)
            elif kind == "ack":
                sink.on_ack(frame.id, t)
            elif kind == "error":
                sink.on_error(str(frame.code))
            elif kind == "ping":
                loop.create_task(ws.send('{"type":"pong"}'))

        follow(m, sink, handle)
        return m
