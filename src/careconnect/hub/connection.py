"""One client socket: its bounded outbound queue, its writer task and its send rate limit.

Every frame for a socket goes through ``enqueue``: when nothing is queued or being written,
the frame is written at once ("eager send": the ASGI ``send`` coroutine is started right
there, and finishes without suspending unless the socket applies backpressure, in which case
the writer task finishes it); otherwise it goes into a bounded queue that one writer task
drains. Either way a fan-out never awaits a recipient, and frames leave in order. What happens when the queue is full is a typed
policy (``Overflow``): stored messages and server events close the socket with 4429 (the
client re-joins with ``since`` and loses nothing); best-effort signals (typing, read) are
dropped. Either way the hub counts it: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from careconnect.hub.policy import Principal


_NOT_STARTED = object()


class Overflow(StrEnum):
    """What happens when a connection's outbound queue is full."""

    close = "close"  # close with 4429: the client re-joins with `since` and loses nothing
    drop_newest = "drop_newest"  # drop the frame (only for best-effort signals: typing, read)


class Outgoing:
    """A frame encoded once; each codec's bytes are made at most once and shared by every member."""

    __slots__ = ("_json", "_msgpack", "_text")

    def __init__(self, json: bytes, msgpack: bytes | None = None) -> None:
        self._json = json
        self._text: str | None = None
        self._msgpack = msgpack

    def text(self) -> str:
        if self._text is None:
            self._text = self._json.decode()
        return self._text

    def msgpack(self) -> bytes:
        if self._msgpack is None:
            from careconnect.hub.protocol import json_to_msgpack

            self._msgpack = json_to_msgpack(self._json)
        return self._msgpack

    @property
    def json(self) -> bytes:
        return self._json


class Connection:
    """A socket's outbound side. ``on_overflow(connection, policy)`` is told of every full-queue event."""

    def __init__(
        self,
        send: Callable[[Any], Awaitable[None]],
        *,
        binary: bool,
        queue_size: int,
        send_limit: int,
        send_window_s: float,
        on_overflow: Callable[[Connection, Overflow], None],
    ) -> None:
        self.id = uuid.uuid4().hex
        self._send = send
        self.binary = binary
        self.queue_size = queue_size
        self._half = queue_size // 2
        self.principal: Principal | None = None
        self.rooms: set[str] = set()
        self.last_received = time.monotonic()
        self.closed = False
        self.close_code: int | None = None
        self._close_reason = ""
        self._buffer: collections.deque[Outgoing] = collections.deque()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()  # set while the queue is at most half full
        self._space.set()
        self._writer: asyncio.Task[None] | None = None
        self._idle = False  # the writer waits with nothing queued: enqueue may write at once
        self._inflight: tuple[Any, Any] | None = None  # an eager send that had to wait
        self._send_limit = send_limit
        self._send_window_s = send_window_s
        self._sends: collections.deque[float] = collections.deque()
        self.limited_in_a_row = 0
        self._on_overflow = on_overflow
        self.done = asyncio.Event()

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_forever(), name=f"hub-writer-{self.id[:8]}")

    def enqueue(self, frame: Outgoing, overflow: Overflow = Overflow.close) -> bool:
        """Queue a frame for this socket; False when it was dropped or the socket closes."""
        if self.closed:
            return False
        if self._idle:
            return self._write_now(frame)
        buffer = self._buffer
        if len(buffer) >= self.queue_size:
            self._on_overflow(self, overflow)
            if overflow is Overflow.close:
                self.close(4429, "too slow: re-join with since", flush=False)
            return False
        buffer.append(frame)
        if len(buffer) > self._half:
            self._space.clear()
        self._wake.set()
        return True

    def _message(self, frame: Outgoing) -> dict[str, Any]:
        if self.binary:
            return {"type": "websocket.send", "bytes": frame.msgpack()}
        return {"type": "websocket.send", "text": frame.text()}

    def _write_now(self, frame: Outgoing) -> bool:
        """Start the ASGI send here; if it must wait (backpressure), the writer task finishes it."""
        pending = self._send(self._message(frame))
        if not hasattr(pending, "send"):  # an awaitable that is not a coroutine: the writer awaits it
            self._idle = False
            self._inflight = (pending, _NOT_STARTED)
            self._wake.set()
            return True
        try:
            waiting_on = pending.send(None)
        except StopIteration:
            return True
        except Exception:  # noqa: BLE001 - the peer went away: the writer task closes up
            self.closed = True
            self._wake.set()
            return False
        self._idle = False
        self._inflight = (pending, waiting_on)
        self._wake.set()
        return True

    async def _finish(self, pending: Any, waiting_on: Any) -> None:
        """Drive an eager send that suspended to its end, as a task would."""
        if waiting_on is _NOT_STARTED:
            await pending
            return
        while True:
            if waiting_on is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False
                try:
                    await waiting_on
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # this writer is being cancelled (the finally closes the send)
                except Exception:  # noqa: BLE001, S110 - the send sees the outcome when resumed
                    pass
            try:
                waiting_on = pending.send(None)
            except StopIteration:
                return

    async def put(self, frame: Outgoing) -> bool:
        """Queue a frame, first waiting until the queue is at most half full (for long replays)."""
        while not self._space.is_set() and not self.closed:
            await self._space.wait()
        return self.enqueue(frame)

    def close(self, code: int, reason: str = "", *, flush: bool = True) -> None:
        """Close after sending what is queued (``flush``) or at once."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self._close_reason = reason
        if not flush:
            self._buffer.clear()
        self._wake.set()
        self._space.set()

    def allow_send(self) -> bool:
        """The per-connection send rate limit: ``send_limit`` sends per ``send_window_s``."""
        now = time.monotonic()
        horizon = now - self._send_window_s
        sends = self._sends
        while sends and sends[0] < horizon:
            sends.popleft()
        if len(sends) >= self._send_limit:
            self.limited_in_a_row += 1
            return False
        sends.append(now)
        self.limited_in_a_row = 0
        return True

    async def _write_forever(self) -> None:
        send = self._send
        buffer = self._buffer
        half = self._half
        space = self._space
        try:
            while True:
                if self._inflight is not None:
                    pending, waiting_on = self._inflight
                    await self._finish(pending, waiting_on)
                    self._inflight = None
                while buffer:
                    frame = buffer.popleft()
                    await send(self._message(frame))
                    if len(buffer) <= half and not space.is_set():
                        space.set()
                space.set()
                if self.closed:
                    await send(
                        {"type": "websocket.close", "code": self.close_code or 1000, "reason": self._close_reason}
                    )
                    return
                self._wake.clear()
                self._idle = True
                await self._wake.wait()
                self._idle = False
        except (OSError, RuntimeError):  # the peer went away while we wrote: the session logs it
            self.closed = True
        except asyncio.CancelledError:
            self.closed = True
            raise
        finally:
            self._idle = False
            if self._inflight is not None:
                pending = self._inflight[0]
                self._inflight = None
                if hasattr(pending, "close"):
                    pending.close()
            self._space.set()
            self.done.set()

    async def wait_closed(self, timeout: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
        except TimeoutError:
            if self._writer is not None:
                self._writer.cancel()

    def cancel(self) -> None:
        self.closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
