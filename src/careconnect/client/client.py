"""``HubClient``: speaks PROTOCOL.md over ``websockets`` and survives reconnects.

It reconnects with backoff, re-joins every room with ``since`` (the last seq it saw),
resends every unacknowledged message with its original id (the server answers a resend with
the original ack and delivers nothing twice), and hands out each room's messages exactly once
and in seq order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

log = logging.getLogger("careconnect.client")

TokenSource = str | Callable[[], Awaitable[str]]
FINAL_CLOSES = {1000, 4401, 4403, 4400}


class HubError(Exception):
    """The server answered a frame with an ``error`` frame."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.code = str(frame.get("code"))
        self.frame = frame


class HubClosed(Exception):
    """The connection ended for good (closed normally, or not authenticated)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}".strip())
        self.code = code


class RoomState:
    """What the client knows of one room: the last seq handed out, and the messages in order."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.messages: list[dict[str, Any]] = []
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.joined: dict[str, Any] | None = None
        self.refilling = False  # a re-join for a gap is on its way


class HubClient:
    def __init__(
        self,
        url: str | list[str],
        token: TokenSource,
        *,
        client_name: str = "careconnect-py/1",
        reconnect: bool = True,
        max_backoff: float = 5.0,
        open_timeout: float = 10.0,
    ) -> None:
        # Several URLs (workers behind no balancer): a failed reconnect moves on to the next.
        self.urls = [url] if isinstance(url, str) else list(url)
        self.url = self.urls[0]
        self._token = token
        self.client_name = client_name
        self.reconnect = reconnect
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.rooms: dict[str, RoomState] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.welcome: dict[str, Any] | None = None
        self.reconnects = 0
        self.duplicates_dropped = 0
        self.close_code: int | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._unacked: dict[str, tuple[str, str, asyncio.Future[dict[str, Any]]]] = {}
        self._pending_joins: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._connected = asyncio.Event()
        self._closing = False
        self._final: HubClosed | None = None

    async def _get_token(self) -> str:
        return self._token if isinstance(self._token, str) else await self._token()

    # -- connection -------------------------------------------------------------------------
    async def connect(self) -> dict[str, Any]:
        await self._open()
        self._reader = asyncio.create_task(self._run(), name="hub-client-reader")
        assert self.welcome is not None
        return self.welcome

    async def _open(self) -> None:
        ws = await websockets.connect(self.url, open_timeout=self.open_timeout, max_size=2**22, ping_interval=20)
        await ws.send(json.dumps({"type": "hello", "token": await self._get_token(), "client": self.client_name}))
        raw = await asyncio.wait_for(ws.recv(), self.open_timeout)
        frame = json.loads(raw)
        if frame.get("type") != "welcome":
            await ws.close()
            raise HubError(frame)
        self.welcome = frame
        self._ws = ws
        self._connected.set()
        # Re-join rooms with since, then resend what was never acknowledged.
        for name, state in self.rooms.items():
            await ws.send(json.dumps({"type": "join", "room": name, "since": state.last_seq}))
        for client_id, (room, body, _) in list(self._unacked.items()):
            await ws.send(json.dumps({"type": "send", "room": room, "id": client_id, "body": body}))

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            heartbeat = asyncio.create_task(self._heartbeat(self._ws))
            try:
                async for raw in self._ws:
                    try:
                        self._handle(json.loads(raw))
                    except Exception:  # one odd frame must not end the reader (logged)
                        log.exception("could not handle a hub frame")
                code = self._ws.close_code
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
            except Exception as exc:  # noqa: BLE001 - any transport failure: reconnect
                log.debug("connection lost: %r", exc)
                code = None
            finally:
                heartbeat.cancel()
            self._connected.clear()
            self.close_code = code
            if self._closing or not self.reconnect or code in FINAL_CLOSES:
                self._fail_all(HubClosed(code))
                return
            while True:
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, self.max_backoff)
                try:
                    await self._open()
                    self.reconnects += 1
                    backoff = 0.1
                    break
                except Exception as exc:  # noqa: BLE001 - refused, timed out, rejected: try the next
                    log.debug("reconnect to %s failed: %r", self.url, exc)
                    self.url = self.urls[(self.urls.index(self.url) + 1) % len(self.urls)]
                    if self._closing:
                        self._fail_all(HubClosed(code))
                        return

    async def _heartbeat(self, ws: Any) -> None:
        """An application-level ping every heartbeat_s: the server closes sockets silent for 2x that."""
        interval = float((self.welcome or {}).get("heartbeat_s", 25))
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                await ws.send('{"type":"ping"}')

    def _fail_all(self, error: HubClosed) -> None:
        self._final = error
        for _, _, future in self._unacked.values():
            if not future.done():
                future.set_exception(error)
        for future in self._pending_joins.values():
            if not future.done():
                future.set_exception(error)

    def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            state = self.rooms.get(frame["room"])
            if state is None:
                return
            seq = frame["seq"]
            if seq <= state.last_seq:
                self.duplicates_dropped += 1
                return
            if seq != state.last_seq + 1:
                # A gap: ask once for what is missing; the re-join replays from last_seq.
                if not state.refilling:
                    state.refilling = True
                    self._spawn_send({"type": "join", "room": frame["room"], "since": state.last_seq})
                return
            state.last_seq = seq
            state.messages.append(frame)
            state.queue.put_nowait(frame)
        elif kind == "ack":
            entry = self._unacked.pop(frame["id"], None)
            if entry is not None and not entry[2].done():
                entry[2].set_result(frame)
        elif kind == "joined":
            state = self.rooms.setdefault(frame["room"], RoomState())
            state.joined = frame
            state.refilling = False
            if frame.get("last_seq", 0) < state.last_seq:
                # The room is behind what we saw (its history was reset): follow the server.
                state.last_seq = int(frame["last_seq"])
            future = self._pending_joins.pop(frame["room"], None)
            if future is not None and not future.done():
                future.set_result(frame)
        elif kind == "error":
            ref = frame.get("ref")
            if ref and ref in self._unacked and frame.get("code") in ("rate_limited", "internal"):
                # Slow down, or the server could not store it (database outage): same id, later.
                room, body, _ = self._unacked[ref]
                self._resend_later(ref, room, body)
                return
            if ref and ref in self._unacked:
                _, _, future = self._unacked.pop(ref)
                if not future.done():
                    future.set_exception(HubError(frame))
                return
            failed_room = frame.get("room")
            if failed_room and failed_room in self._pending_joins:
                future = self._pending_joins.pop(failed_room)
                if not future.done():
                    future.set_exception(HubError(frame))
                return
            self.events.put_nowait(frame)
        elif kind == "ping":
            self._spawn_send({"type": "pong"})
        elif kind != "pong":
            self.events.put_nowait(frame)

    def _resend_later(self, client_id: str, room: str, body: str, delay: float = 1.0) -> None:
        """The server asked us to slow down: send the same message (same id) again shortly."""

        async def go() -> None:
            await asyncio.sleep(delay * (0.5 + random.random()))
            if client_id in self._unacked:
                with contextlib.suppress(ConnectionClosed, OSError):
                    await self._ws.send(json.dumps({"type": "send", "room": room, "id": client_id, "body": body}))

        asyncio.get_running_loop().create_task(go())

    def _spawn_send(self, frame: dict[str, Any]) -> None:
        async def go() -> None:
            with contextlib.suppress(ConnectionClosed, OSError):
                await self._ws.send(json.dumps(frame))

        asyncio.get_running_loop().create_task(go())

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        if self._final is not None:
            raise self._final
        await self._connected.wait()
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(frame))

    # -- API --------------------------------------------------------------------------------
    async def join(self, room: str, since: int | None = None, timeout: float = 10.0) -> dict[str, Any]:
        state = self.rooms.setdefault(room, RoomState())
        if since is not None:
            state.last_seq = since
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending_joins[room] = future
        await self._send_frame({"type": "join", "room": room, "since": state.last_seq})
        return await asyncio.wait_for(future, timeout)

    async def leave(self, room: str) -> None:
        self.rooms.pop(room, None)
        await self._send_frame({"type": "leave", "room": room})

    async def send(self, room: str, body: str, client_id: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Send and wait for the ack (which means the message is stored); resent after reconnects."""
        client_id = client_id or uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._unacked[client_id] = (room, body, future)
        await self._send_frame({"type": "send", "room": room, "id": client_id, "body": body})
        return await asyncio.wait_for(future, timeout)

    async def typing(self, room: str) -> None:
        await self._send_frame({"type": "typing", "room": room})

    async def read(self, room: str, seq: int) -> None:
        await self._send_frame({"type": "read", "room": room, "seq": seq})

    async def refresh(self, token: str) -> None:
        self._token = token
        await self._send_frame({"type": "refresh", "token": token})

    async def next_message(self, room: str, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.rooms[room].queue.get(), timeout)

    async def next_event(self, kind: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """The next non-message frame (of ``kind`` when given; others are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.events.get()
                if kind is None or frame.get("type") == kind:
                    return frame

    def unacked(self) -> int:
        return len(self._unacked)

    async def drop_connection(self) -> None:
        """Close the socket abruptly (tests): the client reconnects by itself."""
        if self._ws is not None:
            self._ws.transport.abort() if hasattr(self._ws, "transport") else await self._ws.close(4000)

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
