"""A socket's outbound side: eager sends, backpressure, order, and a peer that goes away."""

from __future__ import annotations

import asyncio

from careconnect.hub.connection import Connection, Cork, Overflow
from careconnect.hub.encoding import Outgoing


class FakeSocket:
    """An ASGI ``send`` that can be told to block (backpressure) or to fail (the peer left)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.open = asyncio.Event()
        self.open.set()
        self.fail = False
        self.calls_started = 0

    async def send(self, message: dict) -> None:
        self.calls_started += 1
        await self.open.wait()  # returns at once while open: no suspension
        if self.fail:
            raise OSError("peer went away")
        if message["type"] == "websocket.send":
            self.sent.append(message["text"])
        elif message["type"] == "websocket.close":
            self.closed_with = message["code"]


def connection(socket: FakeSocket, queue_size: int = 8) -> tuple[Connection, list[Overflow]]:
    overflows: list[Overflow] = []
    conn = Connection(
        socket.send,
        binary=False,
        queue_size=queue_size,
        send_limit=20,
        send_window_s=10,
        on_overflow=lambda _c, policy: overflows.append(policy),
    )
    conn.start()
    return conn, overflows


def frame(n: int) -> Outgoing:
    return Outgoing(f'{{"n":{n}}}'.encode())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_idle_socket_is_written_at_once_without_a_task_switch():
    socket = FakeSocket()
    conn, _ = connection(socket)
    await settle()  # the writer is now idle
    assert conn.enqueue(frame(1))
    assert socket.sent == ['{"n":1}']  # written inside enqueue, before any await
    conn.close(1000)
    await conn.wait_closed(2)
    assert socket.closed_with == 1000


async def test_a_blocked_send_is_finished_by_the_writer_and_order_is_kept():
    socket = FakeSocket()
    conn, overflows = connection(socket)
    await settle()
    socket.open.clear()  # the next send blocks (the client stopped reading)
    assert conn.enqueue(frame(1))  # started eagerly, then suspended
    for n in range(2, 6):
        assert conn.enqueue(frame(n))  # queued behind it
    await settle()
    assert socket.sent == []
    socket.open.set()
    await settle()
    assert socket.sent == [f'{{"n":{n}}}' for n in range(1, 6)]
    assert conn.enqueue(frame(6))  # idle again: eager
    assert socket.sent[-1] == '{"n":6}'
    assert overflows == []
    conn.close(1000)
    await conn.wait_closed(2)


async def test_a_full_queue_behind_a_blocked_send_closes_with_4429():
    socket = FakeSocket()
    conn, overflows = connection(socket, queue_size=4)
    await settle()
    socket.open.clear()
    for n in range(1, 6):
        assert conn.enqueue(frame(n))  # one in flight + four queued
    assert not conn.enqueue(frame(6))
    assert overflows == [Overflow.close]
    assert conn.closed and conn.close_code == 4429
    socket.open.set()
    await conn.wait_closed(2)
    assert socket.closed_with == 4429


async def test_a_peer_that_went_away_during_an_eager_send_ends_the_writer():
    socket = FakeSocket()
    conn, _ = connection(socket)
    await settle()
    socket.fail = True
    assert not conn.enqueue(frame(1))
    await conn.wait_closed(2)
    assert conn.closed
    assert not conn.enqueue(frame(2))


async def test_cancelling_the_writer_mid_send_closes_the_suspended_send():
    socket = FakeSocket()
    conn, _ = connection(socket)
    await settle()
    socket.open.clear()
    assert conn.enqueue(frame(1))
    await settle()
    conn.cancel()
    await conn.wait_closed(2)
    assert conn.closed and socket.sent == []


async def test_an_idle_socket_holds_no_task():
    socket = FakeSocket()
    conn, _ = connection(socket)
    assert conn._writer is None  # nothing to write: no task at all
    socket.open.clear()
    conn.enqueue(frame(1))  # suspends: a writer task takes over...
    assert conn._writer is not None
    socket.open.set()
    await settle()
    assert conn._writer is None  # ...and ends once everything is written
    assert socket.sent == ['{"n":1}']
    conn.close(1000)
    await conn.wait_closed(2)
    assert socket.closed_with == 1000


class DirectTransport:
    """A direct writer (``Connection.direct``) that records each write, or declines like a paused transport."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.accept = True

    def __call__(self, data: bytes) -> bool:
        if not self.accept:
            return False
        self.writes.append(data)
        return True


def corked(cork: Cork, socket: FakeSocket) -> tuple[Connection, DirectTransport]:
    conn = Connection(
        socket.send, binary=False, queue_size=8, send_limit=20, send_window_s=10, on_overflow=lambda *_: None, cork=cork
    )
    transport = DirectTransport()
    conn.direct = transport
    conn.start()
    return conn, transport


async def test_a_cork_writes_each_sockets_frames_with_one_write_in_order():
    cork = Cork()
    (a, wa), (b, wb) = corked(cork, FakeSocket()), corked(cork, FakeSocket())
    with cork:
        for n in (1, 2, 3):
            assert a.enqueue(frame(n))
        assert b.enqueue(frame(9))
        assert wa.writes == [] and wb.writes == []  # held until the batch is done
    assert wa.writes == [frame(1).wire(False) + frame(2).wire(False) + frame(3).wire(False)]
    assert wb.writes == [frame(9).wire(False)]
    assert a.enqueue(frame(4))  # no cork: written at once, alone
    assert wa.writes[-1] == frame(4).wire(False)


async def test_held_frames_the_transport_declines_go_out_through_the_asgi_send_first_then_the_close():
    cork = Cork()
    socket = FakeSocket()
    conn, transport = corked(cork, socket)
    transport.accept = False  # paused: the direct path declines
    with cork:
        conn.enqueue(frame(1))
        conn.enqueue(frame(2))
        conn.close(4429, "too slow")  # closed while its frames are held
        assert not conn.enqueue(frame(3))
    await conn.wait_closed(2)
    assert socket.sent == ['{"n":1}', '{"n":2}']
    assert socket.closed_with == 4429


async def test_a_busy_socket_is_not_corked_and_keeps_its_queue_order():
    cork = Cork()
    socket = FakeSocket()
    conn, transport = corked(cork, socket)
    transport.accept = False
    socket.open.clear()  # the ASGI send blocks: frame 1 is in flight, the socket is busy
    conn.enqueue(frame(1))
    transport.accept = True
    with cork:
        conn.enqueue(frame(2))  # queued behind frame 1, not held
    assert transport.writes == []
    socket.open.set()
    await settle()
    assert socket.sent == ['{"n":1}'] and transport.writes == [frame(2).wire(False)]
