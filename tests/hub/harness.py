"""A hub served by a real uvicorn on an ephemeral port, with test policies and no database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
import websockets
from litestar import Litestar

from careconnect.hub import (
    AuthFailed,
    Frame,
    Hub,
    HubFastPath,
    HubPlugin,
    HubSettings,
    MemoryBroker,
    MemoryPresence,
    MemoryStore,
    Principal,
    RoomDenied,
    RoomInfo,
    UserRef,
)


class AppointmentEvent(Frame, tag="appointment"):
    """An application's own event (as careconnect.realtime defines it): opaque to the hub."""

    appointment: Any


class StaticAuth:
    """Tokens are names: "tok-alice" is alice. Revoke or disable to test the 60 s checks."""

    def __init__(self) -> None:
        self.users: dict[str, Principal] = {}
        self.revoked: set[str] = set()
        self.disabled: set[str] = set()

    def add(self, user_id: str, role: str = "patient", *, expires_in: float = 900.0) -> str:
        token = f"tok-{user_id}-{len(self.users)}"
        self.users[token] = Principal(
            id=user_id, role=role, name=user_id.title(), session_id=f"s-{token}", expires_at=time.time() + expires_in
        )
        return token

    async def authenticate(self, token: str) -> Principal:
        principal = self.users.get(token)
        if principal is None or principal.expires_at < time.time():
            raise AuthFailed("bad token")
        await self.check(principal)
        return principal

    async def check(self, principal: Principal) -> None:
        if principal.id in self.disabled:
            raise AuthFailed("account disabled", 4403)
        if principal.session_id in self.revoked:
            raise AuthFailed("session revoked")


class RoomBook:
    """Rooms named on creation, with members and a state; writable in checked_in / in_progress."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, Any]] = {}

    def add(self, name: str, members: list[tuple[str, str]], state: str = "in_progress") -> str:
        self.rooms[name] = {"state": state, "members": [UserRef(id=i, role=r, name=i.title()) for i, r in members]}
        return name

    async def join(self, principal: Principal, room: str) -> RoomInfo:
        info = self.rooms.get(room)
        if info is None:
            raise RoomDenied("not_found", "no such room")
        if principal.id not in {m.id for m in info["members"]}:
            raise RoomDenied("forbidden", "not a member of this room")
        return RoomInfo(state=info["state"], members=list(info["members"]))

    async def check_write(self, principal: Principal, room: str) -> None:
        info = self.rooms.get(room)
        if info is None or principal.id not in {m.id for m in info["members"]}:
            raise RoomDenied("forbidden", "not a member of this room")
        if info["state"] not in ("checked_in", "in_progress"):
            raise RoomDenied("room_closed", "the consultation is not open for messages")

    def forget(self, room: str) -> None:
        return None


class FlakyStore(MemoryStore):
    """A memory store that can be switched off, as a database outage would."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("database unavailable")

    async def append_batch(self, batch: Any) -> Any:
        self._check()
        return await super().append_batch(batch)

    async def read_after(self, room: str, after_seq: int, limit: int) -> Any:
        self._check()
        return await super().read_after(room, after_seq, limit)

    async def read_last(self, room: str, limit: int) -> Any:
        self._check()
        return await super().read_last(room, limit)


def free_socket() -> socket.socket:
    # proto=IPPROTO_TCP, or asyncio leaves Nagle on for accepted sockets (40 ms stalls between
    # an ack and the message right behind it); NODELAY on the listener is inherited on Linux.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Served:
    def __init__(self, hub: Hub, auth: StaticAuth, rooms: RoomBook, url: str, server: uvicorn.Server) -> None:
        self.hub = hub
        self.auth = auth
        self.rooms = rooms
        self.url = url
        self.server = server


@contextlib.asynccontextmanager
async def serve_hub(
    hub: Hub | None = None,
    *,
    auth: StaticAuth | None = None,
    rooms: RoomBook | None = None,
    settings: HubSettings | None = None,
    store: Any = None,
    broker: Any = None,
    presence: Any = None,
    max_frame: int = 65_536,
    deflate: bool = False,
) -> AsyncIterator[Served]:
    auth = auth or StaticAuth()
    rooms = rooms or RoomBook()
    if hub is None:
        hub = Hub(
            authenticator=auth,
            policy=rooms,
            store=store or MemoryStore(),
            broker=broker or MemoryBroker(),
            presence=presence or MemoryPresence(),
            settings=settings or HubSettings(maintenance_s=0.2, revalidate_s=0.5, presence_sweep_s=0.5),
        )
    app = HubFastPath(Litestar(plugins=[HubPlugin(hub)], logging_config=None), hub)  # as production serves it
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(  # as `careconnect serve` runs it (deflate: as a plain uvicorn would)
        app,
        log_config=None,
        ws="websockets-sansio",
        ws_max_size=max_frame,
        ws_ping_interval=None,
        ws_per_message_deflate=deflate,
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield Served(hub, auth, rooms, f"ws://127.0.0.1:{port}/ws", server)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
        sock.close()


class Raw:
    """A raw protocol socket with a timeout on every read."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, token: str | None = None, **kwargs: Any) -> Raw:
        # A roomy receive queue and a short close timeout: a test that stops reading must not
        # leave the close handshake waiting behind unread frames.
        kwargs.setdefault("max_queue", 4096)
        kwargs.setdefault("close_timeout", 2)
        ws = await websockets.connect(url, open_timeout=5, **kwargs)
        raw = cls(ws)
        if token is not None:
            await raw.send({"type": "hello", "token": token})
            welcome = await raw.recv()
            assert welcome["type"] == "welcome", welcome
        return raw

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(data) if isinstance(data, str) else {"_bytes": data}

    async def recv_type(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame.get("type") == kind:
                    return frame

    async def closed_with(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; the close code."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


def client_frame(text: str | bytes) -> bytes:
    """One masked text frame, as a browser would send it (bytes go in as they are, even invalid UTF-8)."""
    import os
    import struct

    payload = text.encode() if isinstance(text, str) else text
    mask = os.urandom(4)
    header = bytearray([0x81])
    length = len(payload)
    if length < 126:
        header.append(0x80 | length)
    elif length < 65536:
        header.append(0x80 | 126)
        header += struct.pack("!H", length)
    else:
        header.append(0x80 | 127)
        header += struct.pack("!Q", length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(header) + mask + masked


class StalledClient:
    """A client that completes the handshake, says hello, joins, and then never reads again."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def open(cls, url: str, token: str, room: str) -> StalledClient:
        import base64
        import os

        port = int(url.split(":")[2].split("/")[0])
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += await asyncio.to_thread(sock.recv, 1)
        assert b" 101 " in response.split(b"\r\n", 1)[0], response
        sock.sendall(client_frame(json.dumps({"type": "hello", "token": token})))
        sock.sendall(client_frame(json.dumps({"type": "join", "room": room})))
        return cls(sock)

    def drain_close_code(self) -> int | None:
        """Read what the server sent up to its close frame; the close code (None if it never came)."""
        import struct

        self.sock.settimeout(10)
        data = b""
        i = 0
        while True:
            # Walk the complete frames received so far.
            while i + 2 <= len(data):
                opcode = data[i] & 0x0F
                length = data[i + 1] & 0x7F
                j = i + 2
                if length == 126:
                    if j + 2 > len(data):
                        break
                    length = struct.unpack("!H", data[j : j + 2])[0]
                    j += 2
                elif length == 127:
                    if j + 8 > len(data):
                        break
                    length = struct.unpack("!Q", data[j : j + 8])[0]
                    j += 8
                if j + length > len(data):
                    break
                if opcode == 0x8:
                    return int(struct.unpack("!H", data[j : j + 2])[0]) if length >= 2 else None
                i = j + length
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return None
            data += chunk

    def close(self) -> None:
        self.sock.close()
