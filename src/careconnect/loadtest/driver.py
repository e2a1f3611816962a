"""The load itself: members on raw sockets, a send rate, and the delivery check at the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from typing import Any

import msgspec
import websockets


class Stats(msgspec.Struct, kw_only=True):
    connections: int = 0
    connect_failures: int = 0
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    errors: Counter[str] = msgspec.field(default_factory=Counter)
    connect_ms: list[float] = msgspec.field(default_factory=list)
    ack_ms: list[float] = msgspec.field(default_factory=list)
    delivery_ms: list[float] = msgspec.field(default_factory=list)


class Member:
    """One socket in one room: sends at its rate, records every message frame it receives."""

    def __init__(self, url: str, token: str, room: str, stats: Stats) -> None:
        self.url = url
        self.token = token
        self.room = room
        self.stats = stats
        self.ws: Any = None
        self.received: list[int] = []  # seqs in arrival order, duplicates included
        self.acked: dict[str, int] = {}
        self.pending: dict[str, float] = {}
        self.joined = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        started = time.perf_counter()
        self.ws = await websockets.connect(self.url, open_timeout=30, max_size=2**22, ping_interval=None)
        await self.ws.send(json.dumps({"type": "hello", "token": self.token, "client": "careconnect-loadtest"}))
        welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"not welcomed: {welcome}")
        self.stats.connect_ms.append((time.perf_counter() - started) * 1000)
        self.stats.connections += 1
        self.reader = asyncio.create_task(self._read())
        await self.ws.send(json.dumps({"type": "join", "room": self.room, "since": 0}))
        await asyncio.wait_for(self.joined.wait(), 30)

    async def _read(self) -> None:
        stats = self.stats
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    self.received.append(frame["seq"])
                    stats.delivered += 1
                    body = frame.get("body", "")
                    if body.startswith("t="):
                        stats.delivery_ms.append((time.time() - float(body[2:].split(" ", 1)[0])) * 1000)
                elif kind == "ack":
                    sent_at = self.pending.pop(frame["id"], None)
                    self.acked[frame["id"]] = frame["seq"]
                    stats.acked += 1
                    if sent_at is not None:
                        stats.ack_ms.append((time.perf_counter() - sent_at) * 1000)
                elif kind == "joined":
                    self.received.clear()  # replay of older messages is not part of this run
                    self.joined.set()
                elif kind == "error":
                    stats.errors[frame.get("code", "?")] += 1
                    self.pending.pop(frame.get("ref") or "", None)
                elif kind == "ping":
                    await self.ws.send('{"type":"pong"}')

    async def send_at(self, rate: float, until: float, body_size: int) -> None:
        if rate <= 0:
            return
        await asyncio.sleep(random.random() / rate)  # spread members over the first interval
        interval = 1.0 / rate
        next_at = time.perf_counter()
        padding = "x" * max(0, body_size - 40)
        while time.perf_counter() < until:
            client_id = uuid.uuid4().hex
            self.pending[client_id] = time.perf_counter()
            try:
                await self.ws.send(
                    json.dumps(
                        {"type": "send", "room": self.room, "id": client_id, "body": f"t={time.time():.6f} {padding}"}
                    )
                )
            except websockets.ConnectionClosed:
                self.stats.errors["closed"] += 1
                return
            self.stats.sent += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)


def delivery_check(rooms: dict[str, list[Member]]) -> dict[str, int]:
    """For every member, every acked message of its room arrived exactly once and in seq order."""
    lost = duplicated = out_of_order = checked = 0
    for members in rooms.values():
        acked = {seq for m in members for seq in m.acked.values()}
        for member in members:
            seqs = member.received
            seen = set(seqs)
            duplicated += len(seqs) - len(seen)
            out_of_order += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b <= a)
            lost += len(acked - seen)
            checked += len(acked)
    return {"checked": checked, "lost": lost, "duplicated": duplicated, "out_of_order": out_of_order}


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)
