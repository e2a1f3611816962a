"""One client socket: its bounded outbound queue, its writer task and its send rate limit.

Every frame for a socket goes through ``enqueue``: when nothing is queued or being written,
the frame is written at once ("eager send": the ASGI ``send`` coroutine is started right
there, and finishes without suspending unless the socket applies backpressure, in which case
the writer task finishes it); otherwise it goes into a bounded queue that a writer task
drains. The writer task exists only while there is something to finish or drain (an idle
socket holds no task), so 10,000 quiet sockets cost no 10,000 tasks. Either way a fan-out
never awaits a recipient, and frames leave in order. What happens when the queue is full is a typed
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

from careconnect.hub.wire import direct_writer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from careconnect.hub.encoding import Outgoing
    from careconnect.hub.policy import Principal


_NOT_STARTED = object()


class Overflow(StrEnum):
    """What happens when a connection's outbound queue is full."""

    close = "close"  # close with 4429: the client re-joins with `since` and loses nothing
    drop_newest = "drop_newest"  # drop the frame (only for best-effort signals: typing, read)


class Cork:
    """Holds the frames queued for idle sockets while it is entered; on exit, writes each
    socket's held frames with one ``write`` (their bytes joined), in the order they were queued.

    The hub enters it around a commit batch's callbacks: a batch of k messages for a room of
    n members costs n writes instead of k x n (and the sender's ack rides with its message).
    Held frames never wait on a loop turn: the exit runs in the same call as the callbacks.
    """

    __slots__ = ("active", "held")

    def __init__(self) -> None:
        self.active = False
        self.held: dict[Connection, list[Outgoing]] = {}

    def __enter__(self) -> Cork:
        self.active = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.active = False
        held, self.held = self.held, {}
        for connection, frames in held.items():
            connection._release(frames)


class Connection:
    """A socket's outbound side. ``on_overflow(connection, policy)`` is told of every full-queue event."""

    __slots__ = (  # no __dict__: 10,000 idle sockets on one worker count every byte
        "_buffer",
        "_close_reason",
        "_ended_waiter",
        "_half",
        "_idle",
        "_inflight",
        "_on_overflow",
        "_send",
        "_send_limit",
        "_send_window_s",
        "_sends",
        "_space",
        "_started",
        "_writer",
        "binary",
        "close_code",
        "closed",
        "cork",
        "direct",
        "ended",
        "id",
        "last_received",
        "limited_in_a_row",
        "principal",
        "queue_size",
        "rooms",
    )

    def __init__(
        self,
        send: Callable[[Any], Awaitable[None]],
        *,
        binary: bool,
        queue_size: int,
        send_limit: int,
        send_window_s: float,
        on_overflow: Callable[[Connection, Overflow], None],
        cork: Cork | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.cork = cork
        self._send = send
        # Set once the socket is accepted under uvicorn's sans-I/O protocol (``hub.wire``).
        self.direct: Callable[[bytes], bool] | None = None
        self.binary = binary
        self.queue_size = queue_size
        self._half = queue_size // 2
        self.principal: Principal | None = None
        self.rooms: set[str] = set()
        self.last_received = time.monotonic()
        self.closed = False
        self.close_code: int | None = None
        self._close_reason = ""
        self._buffer: collections.deque[Outgoing] | None = None  # made on the first frame that must wait
        self._started = False
        # Made only when needed: an idle socket carries no Event, future or send log (memory per socket).
        self._space: asyncio.Future[None] | None = None  # put() waits for a queue at most half full
        self._writer: asyncio.Task[None] | None = None
        self._idle = False  # started, no writer, nothing queued: enqueue may write at once
        self._inflight: tuple[Any, Any] | None = None  # an eager send that had to wait
        self._send_limit = send_limit
        self._send_window_s = send_window_s
        self._sends: collections.deque[float] | None = None
        self.limited_in_a_row = 0
        self._on_overflow = on_overflow
        self.ended = False  # nothing more will be written
        self._ended_waiter: asyncio.Future[None] | None = None

    async def send_handshake(self, message: dict[str, Any]) -> None:
        """Send an ASGI handshake event (``websocket.http.response.*`` or a refusing close)
        straight through the socket's ``send``: only before ``accept``, when no frame may go out."""
        await self._send(message)

    async def accept(self, subprotocol: str | None = None) -> None:
        """Accept the socket (with ``subprotocol``) and let frames go out: straight to uvicorn's
        transport when it allows (``hub.wire``), else through the ASGI ``send``."""
        message: dict[str, Any] = {"type": "websocket.accept"}
        if subprotocol is not None:
            message["subprotocol"] = subprotocol
        await self._send(message)
        self.direct = direct_writer(self._send)
        self.start()

    def start(self) -> None:
        """The socket is accepted: frames may go out (anything queued before goes first)."""
        self._started = True
        if self._buffer or self.closed:
            self._ensure_writer()
        else:
            self._idle = True

    def _ensure_writer(self) -> None:
        if self._writer is None and self._started and not self.ended:
            self._idle = False
            self._writer = asyncio.get_running_loop().create_task(self._write(), name=f"hub-writer-{self.id[:8]}")

    def enqueue(self, frame: Outgoing, overflow: Overflow = Overflow.close) -> bool:
        """Queue a frame for this socket; False when it was dropped or the socket closes."""
        if self.closed:
            return False
        if self._idle:
            cork = self.cork
            if cork is not None and cork.active and self.direct is not None:
                held = cork.held.get(self)
                if held is None:
                    cork.held[self] = [frame]
                else:
                    held.append(frame)
                return True
            return self._write_now(frame)
        buffer = self._buffer
        if buffer is None:
            buffer = self._buffer = collections.deque()
        if len(buffer) >= self.queue_size:
            self._on_overflow(self, overflow)
            if overflow is Overflow.close:
                self.close(4429, "too slow: re-join with since", flush=False)
            return False
        buffer.append(frame)
        self._ensure_writer()
        return True

    def _release(self, frames: list[Outgoing]) -> None:
        """Write frames a ``Cork`` held (queued while idle, so nothing is ahead of them)."""
        if self.ended:
            return
        direct = self.direct
        if direct is not None:
            binary = self.binary
            data = frames[0].wire(binary) if len(frames) == 1 else b"".join([f.wire(binary) for f in frames])
            if direct(data):
                return
        # The transport declined (backpressure, closing): the writer task sends them, first in line.
        buffer = self._buffer
        if buffer is None:
            buffer = self._buffer = collections.deque()
        buffer.extendleft(reversed(frames))
        self._idle = False
        self._ensure_writer()

    def _message(self, frame: Outgoing) -> dict[str, Any]:
        if self.binary:
            return {"type": "websocket.send", "bytes": frame.msgpack()}
        return {"type": "websocket.send", "text": frame.text()}

    def _write_now(self, frame: Outgoing) -> bool:
        """Write the frame straight to the transport, or start the ASGI send here; if that must
        wait (backpressure), the writer task finishes it."""
        direct = self.direct
        if direct is not None and direct(frame.wire(self.binary)):
            return True
        pending = self._send(self._message(frame))
        if not hasattr(pending, "send"):  # an awaitable that is not a coroutine: the writer awaits it
            self._idle = False
            self._inflight = (pending, _NOT_STARTED)
            self._ensure_writer()
            return True
        try:
            waiting_on = pending.send(None)
        except StopIteration:
            return True
        except Exception:  # noqa: BLE001 - the peer went away: the writer task closes up
            self.closed = True
            self._ensure_writer()
            return False
        self._idle = False
        self._inflight = (pending, waiting_on)
        self._ensure_writer()
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
        while self._buffer is not None and len(self._buffer) > self._half and not self.closed:
            if self._space is None or self._space.done():
                self._space = asyncio.get_running_loop().create_future()
            await self._space
        return self.enqueue(frame)

    def _wake_put(self) -> None:
        if self._space is not None and not self._space.done():
            self._space.set_result(None)

    def close(self, code: int, reason: str = "", *, flush: bool = True) -> None:
        """Close after sending what is queued (``flush``) or at once."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self._close_reason = reason
        if not flush and self._buffer:
            self._buffer.clear()
        self._idle = False
        self._ensure_writer()  # sends what is queued, then the close frame
        self._wake_put()

    @property
    def close_reason(self) -> str:
        return self._close_reason

    def allow_send(self) -> bool:
        """The per-connection send rate limit: ``send_limit`` sends per ``send_window_s``."""
        now = time.monotonic()
        horizon = now - self._send_window_s
        sends = self._sends
        if sends is None:
            sends = self._sends = collections.deque()
        while sends and sends[0] < horizon:
            sends.popleft()
        if len(sends) >= self._send_limit:
            self.limited_in_a_row += 1
            return False
        sends.append(now)
        self.limited_in_a_row = 0
        return True

    async def _write(self) -> None:
        """Finish a suspended eager send, drain the queue, and end (or send the close frame)."""
        send = self._send
        half = self._half
        finished = True
        try:
            while True:
                if self._inflight is not None:
                    pending, waiting_on = self._inflight
                    await self._finish(pending, waiting_on)
                    self._inflight = None
                buffer = self._buffer  # made by enqueue while an eager send was finishing, perhaps
                while buffer:
                    frame = buffer.popleft()
                    direct = self.direct
                    if direct is None or not direct(frame.wire(self.binary)):
                        await send(self._message(frame))
                    if len(buffer) <= half:
                        self._wake_put()
                self._wake_put()
                if self.closed:
                    await send(
                        {"type": "websocket.close", "code": self.close_code or 1000, "reason": self._close_reason}
                    )
                    return
                if self._inflight is None and not buffer:  # all written: idle, no task
                    finished = False
                    self._writer = None
                    self._idle = True
                    return
        except (OSError, RuntimeError):  # the peer went away while we wrote: the session logs it
            self.closed = True
        except asyncio.CancelledError:
            self.closed = True
            raise
        finally:
            if finished:
                self._end()

    def _end(self) -> None:
        """Nothing more will be written: release a suspended send and wake the waiters."""
        self._idle = False
        if self._inflight is not None:
            pending = self._inflight[0]
            self._inflight = None
            if hasattr(pending, "close"):
                pending.close()
        self._wake_put()
        self.ended = True
        if self._ended_waiter is not None and not self._ended_waiter.done():
            self._ended_waiter.set_result(None)

    async def wait_closed(self, timeout: float = 5.0) -> None:
        try:
            if not self.ended:
                if self._ended_waiter is None:
                    self._ended_waiter = asyncio.get_running_loop().create_future()
                await asyncio.wait_for(asyncio.shield(self._ended_waiter), timeout)
        except TimeoutError:
            self.cancel()

    def cancel(self) -> None:
        self.closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        else:
            self._end()
