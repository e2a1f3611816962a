"""Ready-made frames written straight to uvicorn's transport, and every case that must not use them."""

from __future__ import annotations

import msgspec
import pytest
from websockets.frames import Frame, Opcode

from careconnect.hub.encoding import frame_bytes
from careconnect.hub.protocol import MSGPACK_SUBPROTOCOL
from tests.hub.harness import Raw, serve_hub

ROOM = "consultation:7"


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
@pytest.mark.parametrize("binary", [False, True])
def test_frame_bytes_are_what_websockets_serialises(size, binary):
    payload = b"x" * size
    expected = Frame(Opcode.BINARY if binary else Opcode.TEXT, payload).serialize(mask=False)
    assert frame_bytes(payload, binary=binary) == expected


def server_side(served, user_id):
    [connection] = [c for c in served.hub.connections if c.principal and c.principal.id == user_id]
    return connection


async def chat(served, **open_args):
    alice = served.auth.add("alice", "patient")
    bob = served.auth.add("bob", "doctor")
    served.rooms.add(ROOM, [("alice", "patient"), ("bob", "doctor")], "in_progress")
    a = await Raw.open(served.url, alice, **open_args)
    b = await Raw.open(served.url, bob, **open_args)
    for sock in (a, b):
        await sock.send({"type": "join", "room": ROOM})
        await sock.recv_type("joined")
    body = "é" * 200 + " <b>'; DROP TABLE chat_message; --"  # a two-byte length and non-ASCII text
    await a.send({"type": "send", "room": ROOM, "id": "m1", "body": body})
    assert (await a.recv_type("ack"))["seq"] == 1
    message = await b.recv_type("message")
    assert (message["seq"], message["body"]) == (1, body)
    return a, b


async def test_sockets_under_careconnect_serve_settings_get_frames_written_directly():
    async with serve_hub() as served:
        a, b = await chat(served)
        assert server_side(served, "alice").direct is not None
        assert server_side(served, "bob").direct is not None
        await a.close()
        await b.close()


async def test_msgpack_sockets_get_binary_frames_written_directly():
    async with serve_hub() as served:
        alice = served.auth.add("alice", "patient")
        served.rooms.add(ROOM, [("alice", "patient")], "in_progress")
        sock = await Raw.open(served.url, subprotocols=[MSGPACK_SUBPROTOCOL])
        await sock.ws.send(msgspec.msgpack.encode({"type": "hello", "token": alice}))
        welcome = msgspec.msgpack.decode(await sock.ws.recv())
        assert welcome["type"] == "welcome"
        assert server_side(served, "alice").direct is not None
        await sock.ws.send(msgspec.msgpack.encode({"type": "ping"}))
        assert msgspec.msgpack.decode(await sock.ws.recv()) == {"type": "pong"}
        await sock.close()


async def test_a_socket_with_deflate_negotiated_takes_the_asgi_send():
    """Compressed frames are not the shared bytes: such a socket never gets the direct writer."""
    async with serve_hub(deflate=True) as served:
        a, b = await chat(served, compression="deflate")
        assert a.ws.protocol.extensions, "the client did not negotiate permessage-deflate"
        assert server_side(served, "alice").direct is None
        assert server_side(served, "bob").direct is None
        await a.close()
        await b.close()


async def test_the_direct_writer_declines_once_the_socket_closes_or_the_transport_pauses():
    async with serve_hub() as served:
        a, b = await chat(served)
        direct = server_side(served, "bob").direct
        assert direct is not None
        protocol = direct._protocol
        protocol.writable.clear()  # what uvicorn does on pause_writing
        assert direct(frame_bytes(b"{}", binary=False)) is False
        protocol.writable.set()
        assert direct(frame_bytes(b'{"type":"pong"}', binary=False)) is True
        assert await b.recv() == {"type": "pong"}
        await b.close()
        await a.send({"type": "ping"})
        await a.recv_type("pong")
        assert direct(frame_bytes(b"{}", binary=False)) is False
        await a.close()


def test_timestamps_are_rfc3339_utc_with_milliseconds():
    import datetime as dt

    from careconnect.hub.protocol import timestamp

    assert timestamp(dt.datetime(2026, 11, 25, 10, 0, 0, tzinfo=dt.UTC)) == "2026-11-25T10:00:00.000Z"
    assert timestamp(dt.datetime(2026, 11, 25, 10, 0, 0, 123999, tzinfo=dt.UTC)) == "2026-11-25T10:00:00.123Z"
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert timestamp(dt.datetime(2026, 11, 25, 12, 0, 0, 5000, tzinfo=plus_two)) == "2026-11-25T10:00:00.005Z"
    now = timestamp()
    assert len(now) == 24 and now.endswith("Z") and now[10] == "T"


def test_a_batch_shared_timestamp_is_formatted_once_and_never_given_to_another_value():
    import datetime as dt

    from careconnect.hub import protocol

    batch_time = dt.datetime(2026, 11, 25, 10, 0, 0, 250000, tzinfo=dt.UTC)
    first = protocol.timestamp(batch_time)
    assert protocol._last_timestamp[0] is batch_time  # kept for the batch's other frames
    assert protocol.timestamp(batch_time) is first
    equal_but_another = dt.datetime(2026, 11, 25, 12, 0, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert protocol.timestamp(equal_but_another) == "2026-11-25T10:00:00.250Z"
    later = dt.datetime(2026, 11, 25, 10, 0, 1, tzinfo=dt.UTC)
    assert protocol.timestamp(later) == "2026-11-25T10:00:01.000Z"
    protocol.timestamp()  # now: formatted, never kept
    assert protocol._last_timestamp[0] is later
