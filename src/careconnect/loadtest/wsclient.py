"""The load generator's one WebSocket client: websockets' sans-I/O protocol on an asyncio Protocol.

``careconnect loadtest`` and ``bench.loadgen`` both speak through it. The load generator
shares the machine with the server under test, and at 40,000 deliveries/s its own cost per
received frame decides much of the latency it reports. The ``websockets`` asyncio client
wakes a reader task and resolves futures for every frame; here frames are parsed inside
``data_received`` and handed to a callback synchronously, stamped with the time their bytes
arrived. The same client speaks to every target, so no server gains from it; the framing,
masking and close handshake are websockets' own (its ``ClientProtocol``).

Once the opening handshake is done, frames from the server are cut out of the byte stream
here (a server's frames are unmasked: a two-to-ten-byte header, then the payload), which costs
a fraction of websockets' generator-based parser; what is sent (masked) and the closing
handshake still go through websockets' protocol. Before a handler is set (the join
handshake), frames wait for ``recv()``.
"""

from __future__ import annotations

import asyncio
import collections
import struct
import time
from typing import TYPE_CHECKING

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

if TYPE_CHECKING:
    from collections.abc import Callable


class LightSocket(asyncio.Protocol):
    """One client connection. ``handler(payload, t)`` gets every frame's payload as bytes;
    ``recv()`` (before a handler is set) a text frame as str, binary as bytes."""

    def __init__(self, uri: str, max_size: int) -> None:
        self.protocol = ClientProtocol(parse_uri(uri), max_size=max_size)  # no extensions: no deflate
        loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.handler: Callable[[bytes, int], None] | None = None
        self._inbox: collections.deque[str | bytes] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._parts: list[bytes] = []
        self._opcode: int | None = None
        self._buffer = bytearray()  # after the handshake: bytes not yet a whole frame
        self._raw = False
        self._close_code: int | None = None

    @classmethod
    async def connect(cls, uri: str, *, max_size: int, timeout: float) -> LightSocket:
        wsuri = parse_uri(uri)
        loop = asyncio.get_running_loop()
        _, sock = await asyncio.wait_for(
            loop.create_connection(lambda: cls(uri, max_size), wsuri.host, wsuri.port), timeout
        )
        await asyncio.wait_for(asyncio.shield(sock.opened), timeout)
        return sock

    @property
    def close_code(self) -> int | None:
        return self._close_code if self._raw else self.protocol.close_code

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        t = time.perf_counter_ns()
        if self._raw:
            self._frames(data, t)
            return
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Response):
                if protocol.handshake_exc is not None:
                    self._fail_open(protocol.handshake_exc)
                    break
                # Open: from here on this class cuts the frames (websockets' parser is not fed again).
                self._raw = True
                if not self.opened.done():
                    self.opened.set_result(None)
            elif self._raw and isinstance(event, Frame):  # a frame that came in the same read as the response
                self._frame(event.fin, int(event.opcode), bytes(event.data), t)
        if self._raw:
            self._frames(bytes(protocol.reader.buffer), t)  # bytes not yet a whole frame
            del protocol.reader.buffer[:]
        self._flush()

    def _frames(self, data: bytes, t: int) -> None:
        buffer = self._buffer
        buffer += data
        at, end = 0, len(buffer)
        while end - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if second & 0x80:
                self._abort(1002)  # a server must not mask
                return
            n, head = second & 0x7F, 2
            if n == 126:
                if end - at < 4:
                    break
                n, head = struct.unpack_from("!H", buffer, at + 2)[0], 4
            elif n == 127:
                if end - at < 10:
                    break
                n, head = struct.unpack_from("!Q", buffer, at + 2)[0], 10
            if end - at < head + n:
                break
            payload = bytes(buffer[at + head : at + head + n])
            at += head + n
            self._frame(first & 0x80, first & 0x0F, payload, t)
        del buffer[:at]

    def _frame(self, fin: int, opcode: int, payload: bytes, t: int) -> None:
        if opcode in (1, 2):  # text, binary
            if fin:
                self._deliver(opcode, payload, t)
            else:
                self._opcode, self._parts = opcode, [payload]
        elif opcode == 0 and self._opcode is not None:  # continuation
            self._parts.append(payload)
            if fin:
                opcode, self._opcode = self._opcode, None
                self._deliver(opcode, b"".join(self._parts), t)
        elif opcode == 9:  # ping
            if self.protocol.state is State.OPEN:
                self.protocol.send_pong(payload)
                self._flush()
        elif opcode == 8:  # close: answer it and let the server end the TCP connection
            self._close_code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(self._close_code if self._close_code != 1005 else None)
                self._flush()

    def _abort(self, code: int) -> None:
        self._close_code = code
        if self.transport is not None:
            self.transport.abort()

    def eof_received(self) -> bool | None:
        if not self._raw:
            self.protocol.receive_eof()
            self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._raw:
            if self._close_code is None:
                self._close_code = 1006
        elif self.protocol.state is not State.CLOSED:
            self.protocol.receive_eof()
        self._fail_open(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
        self._wake()

    # -- use --------------------------------------------------------------------------------
    async def send(self, text: str) -> None:
        if self.protocol.state is not State.OPEN or self.closed.done():
            raise ConnectionClosed(self.protocol.close_rcvd, self.protocol.close_sent)
        self.protocol.send_text(text.encode())
        self._flush()

    async def recv(self) -> str | bytes:
        while not self._inbox:
            if self.closed.done():
                raise ConnectionClosed(self.protocol.close_rcvd, self.protocol.close_sent)
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._inbox.popleft()

    async def close(self) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(1000)
            self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 2)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()

    # -- internals --------------------------------------------------------------------------
    def _deliver(self, opcode: int, data: bytes, t: int) -> None:
        if self.handler is not None:
            self.handler(data, t)
        else:
            self._inbox.append(data.decode() if opcode == 1 else data)
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail_open(self, exc: BaseException) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)

    def _flush(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()  # websockets' SEND_EOF: half-close after the close handshake
