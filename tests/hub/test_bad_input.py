"""Bad input on the hub (PROTOCOL.md 1.1 "Bad input", "Room names"): an error frame for that frame
alone (4400 before ``hello``), never a 1011 close, never a second room."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import websockets

from tests.hub.harness import Raw, RoomBook, client_frame, serve_hub

ROOM = "consultation:42"
MAX_COUNT = 2**53  # PROTOCOL.md 1.1: since beyond 2^53 gets bad_request
DEEP_OBJECT = '{"type":"hello","x":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
DEEP_ARRAY = '{"type":"join","room":' + "[" * 5000 + "]" * 5000 + "}"


def member(served, user="alice", role="patient"):
    token = served.auth.add(user, role)
    if ROOM not in served.rooms.rooms:
        served.rooms.add(ROOM, [("alice", "patient"), ("bob", "doctor")])
    return token


async def assert_still_works(sock: Raw, client_id: str = "after") -> dict:
    await sock.send({"type": "send", "room": ROOM, "id": client_id, "body": "still fine"})
    return await sock.recv_type("ack")


async def test_deeply_nested_frames_close_4400_before_hello_and_get_an_error_after():
    async with serve_hub() as served:
        token = member(served)
        for frame in (DEEP_OBJECT, DEEP_ARRAY):
            before = await Raw.open(served.url)
            await before.ws.send(frame)
            assert await before.closed_with() == 4400  # was 1011 (a RecursionError) for the object
            after = await Raw.open(served.url, token)
            await after.send({"type": "join", "room": ROOM})
            await after.recv_type("joined")
            await after.ws.send(frame)
            error = await after.recv_type("error")
            assert error["code"] == "bad_request" and "nested" in error["message"]
            assert (await assert_still_works(after, f"after-{len(frame)}-{frame[9]}"))["seq"] >= 1
            await after.close()


async def test_a_nul_in_a_body_or_an_id_is_bad_request_for_that_frame_alone():
    async with serve_hub() as served:
        token = member(served)
        sock = await Raw.open(served.url, token)
        await sock.send({"type": "join", "room": ROOM})
        await sock.recv_type("joined")
        await sock.send({"type": "send", "room": ROOM, "id": "n1", "body": "hello\x00world"})
        error = await sock.recv_type("error")
        assert error["code"] == "bad_request" and error["ref"] == "n1" and error["room"] == ROOM
        await sock.send({"type": "send", "room": ROOM, "id": "n\x002", "body": "fine"})
        assert (await sock.recv_type("error"))["code"] == "bad_request"
        assert (await assert_still_works(sock))["seq"] == 1  # nothing else was stored
        assert await served.hub.store.find("alice", ROOM, "n1") is None
        await sock.close()


async def test_a_lone_surrogate_escape_is_bad_request_with_its_ref():
    async with serve_hub() as served:
        token = member(served)
        sock = await Raw.open(served.url, token)
        await sock.send({"type": "join", "room": ROOM})
        await sock.recv_type("joined")
        await sock.ws.send('{"type":"send","room":"' + ROOM + '","id":"s1","body":"x \\udc00 y"}')
        error = await sock.recv_type("error")
        assert error["code"] == "bad_request" and error["ref"] == "s1"
        assert (await assert_still_works(sock))["seq"] == 1
        await sock.close()


async def test_msgpack_text_that_is_not_utf8_gets_an_error_not_1011():
    async with serve_hub() as served:
        token = member(served)
        ws = await websockets.connect(served.url, subprotocols=["careconnect.v1.msgpack"], close_timeout=2)
        await ws.send(msgspec.msgpack.encode({"type": "hello", "token": token}))
        assert msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
        frame = msgspec.msgpack.encode({"type": "send", "room": ROOM, "id": "m1", "body": "abcd"})
        await ws.send(frame.replace(b"abcd", b"\xed\xa0\x80x"))  # a UTF-8-encoded surrogate: not UTF-8
        error = msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))
        assert error["type"] == "error" and error["code"] == "bad_request"
        await ws.send(msgspec.msgpack.encode({"type": "ping"}))
        assert msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
        await ws.close()
        # Binary JSON (no subprotocol) with the same bytes, before hello: a protocol violation.
        raw = await Raw.open(served.url)
        await raw.ws.send(frame.replace(b"abcd", b"\xed\xa0\x80x"))
        assert await raw.closed_with() == 4400


async def test_since_and_seq_beyond_2_to_the_53_are_bad_request():
    async with serve_hub() as served:
        token = member(served)
        sock = await Raw.open(served.url, token)
        for since in (MAX_COUNT + 1, 2**64, 2**70, -1):
            await sock.send({"type": "join", "room": ROOM, "since": since})
            error = await sock.recv_type("error")
            assert error["code"] == "bad_request" and "since" in error["message"], error
        await sock.send({"type": "join", "room": ROOM, "since": MAX_COUNT})  # the bound itself is fine
        assert (await sock.recv_type("joined"))["last_seq"] == 0
        await sock.send({"type": "read", "room": ROOM, "seq": 2**70})
        assert (await sock.recv_type("error"))["code"] == "bad_request"
        assert (await assert_still_works(sock))["seq"] == 1
        await sock.close()


async def test_a_text_frame_with_a_raw_nul_byte_is_not_json_and_closes_4400():
    """A NUL straight in the UTF-8 (no escape) is valid UTF-8 but not JSON: a protocol violation."""
    async with serve_hub() as served:
        token = member(served)
        sock = await Raw.open(served.url, token)
        sock.ws.transport.write(client_frame(b'{"type":"send","room":"x","id":"1","body":"a\x00b"}'))
        assert await sock.closed_with() == 4400


class OneSpelling(RoomBook):
    """Rooms named ``consultation:<digits>`` only (as the application's are ``consultation:<uuid>``)."""

    def is_room_name(self, room: str) -> bool:
        return room.startswith("consultation:") and room[len("consultation:") :].isdigit()


async def test_a_room_name_the_policy_would_never_give_out_is_not_found_on_every_frame():
    async with serve_hub(rooms=OneSpelling()) as served:
        token = member(served)
        sock = await Raw.open(served.url, token)
        await sock.send({"type": "join", "room": ROOM})
        await sock.recv_type("joined")
        for other in ("consultation: 42", "consultation:42 ", "Consultation:42", "consultation:x42"):
            for frame in (
                {"type": "join", "room": other},
                {"type": "send", "room": other, "id": "o1", "body": "hi"},
                {"type": "typing", "room": other},
                {"type": "read", "room": other, "seq": 1},
                {"type": "leave", "room": other},
            ):
                await sock.send(frame)
                error = await sock.recv_type("error")
                assert error["code"] == "not_found" and error["room"] == other, (frame, error)
        # A real room's name one is not in is still forbidden, not not_found.
        await sock.send({"type": "send", "room": "consultation:7", "id": "o2", "body": "hi"})
        assert (await sock.recv_type("error"))["code"] == "forbidden"
        assert (await assert_still_works(sock))["seq"] == 1
        await sock.close()


async def test_deeply_nested_msgpack_closes_4400_before_hello_and_gets_an_error_after():
    deep = b"\x82\xa4type\xa5hello\xa1x" + b"\x91" * 5000 + b"\xc0"  # {"type":"hello","x":[[[…nil…]]]}
    async with serve_hub() as served:
        token = member(served)
        ws = await websockets.connect(served.url, subprotocols=["careconnect.v1.msgpack"], close_timeout=2)
        await ws.send(deep)
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4400
        ws = await websockets.connect(served.url, subprotocols=["careconnect.v1.msgpack"], close_timeout=2)
        await ws.send(msgspec.msgpack.encode({"type": "hello", "token": token}))
        assert msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
        await ws.send(deep)
        error = msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))
        assert error["type"] == "error" and error["code"] == "bad_request"
        await ws.close()
