"""More of the protocol through real sockets: leave, limits, heartbeats, outages, logging, events."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import websockets

from careconnect.hub import HubSettings, RoomState
from careconnect.hub.protocol import TypingOut
from tests.hub.harness import AppointmentEvent, FlakyStore, Raw, StalledClient, serve_hub

ROOM = "consultation:7"


def clinic(served, state="in_progress"):
    alice = served.auth.add("alice", "patient")
    bob = served.auth.add("bob", "doctor")
    served.rooms.add(ROOM, [("alice", "patient"), ("bob", "doctor")], state)
    return alice, bob


async def joined(sock: Raw, room: str = ROOM, since: int | None = None) -> dict:
    frame = {"type": "join", "room": room}
    if since is not None:
        frame["since"] = since
    await sock.send(frame)
    return await sock.recv_type("joined")


async def test_leave_stops_delivery_and_reports_offline():
    async with serve_hub() as served:
        alice, bob = clinic(served)
        a, b = await Raw.open(served.url, alice), await Raw.open(served.url, bob)
        await joined(a)
        await joined(b)
        assert (await a.recv_type("presence"))["online"] is True
        await b.send({"type": "leave", "room": ROOM})
        offline = await a.recv_type("presence")
        assert offline["user"]["id"] == "bob" and offline["online"] is False
        await a.send({"type": "send", "room": ROOM, "id": "after-leave", "body": "anyone?"})
        await a.recv_type("ack")
        await b.send({"type": "ping"})
        frame = await b.recv()
        assert frame == {"type": "pong"}, "a message reached a socket that left the room"
        await b.send({"type": "send", "room": ROOM, "id": "b1", "body": "x"})
        assert (await b.recv_type("error"))["code"] == "forbidden"
        await a.close()
        await b.close()


async def test_room_limit_read_and_refresh_errors():
    async with serve_hub(settings=HubSettings(max_rooms=1)) as served:
        alice, _ = clinic(served)
        served.rooms.add("consultation:8", [("alice", "patient")])
        other = served.auth.add("mallory", "patient")
        a = await Raw.open(served.url, alice)
        await joined(a)
        await a.send({"type": "join", "room": "consultation:8"})
        assert (await a.recv_type("error"))["code"] == "rate_limited"
        await a.send({"type": "read", "room": ROOM, "seq": 0})
        assert (await a.recv_type("error"))["code"] == "bad_request"
        await a.send({"type": "refresh", "token": other})
        assert (await a.recv_type("error"))["code"] == "unauthorized"
        await a.send({"type": "join", "room": f"user:{'alice'}"})
        assert (await a.recv_type("joined"))["room"] == "user:alice"
        await a.close()


async def test_since_beyond_the_end_still_gets_live_traffic():
    async with serve_hub() as served:
        alice, bob = clinic(served)
        a, b = await Raw.open(served.url, alice), await Raw.open(served.url, bob)
        await joined(a)
        frame = await joined(b, since=500)  # a client whose state came from a reset database
        assert frame["last_seq"] == 0
        await a.send({"type": "send", "room": ROOM, "id": "m", "body": "live"})
        assert (await b.recv_type("message"))["seq"] == 1
        await a.close()
        await b.close()


async def test_a_long_replay_respects_the_queue_bound():
    """A replay far longer than the queue is paced by the writer, never closed as too slow."""
    async with serve_hub(settings=HubSettings(queue_size=16, send_limit=10_000, replay_page=40)) as served:
        alice, bob = clinic(served)
        a = await Raw.open(served.url, alice)
        await joined(a)
        for i in range(300):
            await a.send({"type": "send", "room": ROOM, "id": f"r{i}", "body": f"{i}"})
            await a.recv_type("ack")
        b = await Raw.open(served.url, bob)
        assert (await joined(b, since=3))["last_seq"] == 300
        seqs = [(await b.recv_type("message"))["seq"] for _ in range(297)]
        assert seqs == list(range(4, 301))
        assert served.hub.stats.queue_drops == 0
        await a.close()
        await b.close()


async def test_silent_socket_is_closed_and_pinging_one_is_not():
    async with serve_hub(settings=HubSettings(heartbeat_s=1, maintenance_s=0.1)) as served:
        alice, bob = clinic(served)
        quiet = await Raw.open(served.url, alice)
        chatty = await Raw.open(served.url, bob)

        async def keep_pinging() -> None:
            while True:
                await chatty.send({"type": "ping"})
                await asyncio.sleep(0.3)

        pinger = asyncio.create_task(keep_pinging())
        assert await quiet.closed_with(5) == 1001
        pinger.cancel()
        assert chatty.ws.close_code is None
        await chatty.close()


async def test_database_outage_answers_internal_and_the_resend_succeeds():
    store = FlakyStore()
    async with serve_hub(store=store) as served:
        alice, _ = clinic(served)
        a = await Raw.open(served.url, alice)
        await joined(a)
        store.down = True
        await a.send({"type": "send", "room": ROOM, "id": "keep", "body": "important"})
        error = await a.recv_type("error")
        assert error["code"] == "internal" and error["ref"] == "keep"
        await a.send({"type": "join", "room": ROOM, "since": 0})
        assert (await a.recv_type("error"))["code"] == "internal"
        store.down = False
        await a.send({"type": "send", "room": ROOM, "id": "keep", "body": "important"})
        assert (await a.recv_type("ack"))["seq"] == 1  # nothing was stored while down: no gap
        await a.close()


async def test_auth_backend_down_at_hello_closes_1011_and_disabled_closes_4403():
    async with serve_hub() as served:
        alice, _ = clinic(served)
        served.auth.disabled.add("alice")
        sock = await Raw.open(served.url)
        await sock.send({"type": "hello", "token": alice})
        assert await sock.closed_with() == 4403
        served.auth.disabled.clear()

        async def broken(token: str) -> None:
            raise ConnectionError("auth database down")

        served.auth.authenticate = broken  # type: ignore[method-assign]
        sock = await Raw.open(served.url)
        await sock.send({"type": "hello", "token": alice})
        assert await sock.closed_with() == 1011


async def test_msgpack_garbage_and_oversized_binary_frames():
    async with serve_hub(settings=HubSettings(max_frame_bytes=1024)) as served:
        alice, _ = clinic(served)
        for payload, code in (
            (b"\xc1\xc1\xc1", 4400),
            (msgspec.msgpack.encode({"type": "send", "body": "x" * 2000}), 1009),
        ):
            ws = await websockets.connect(served.url, subprotocols=["careconnect.v1.msgpack"], close_timeout=2)
            await ws.send(msgspec.msgpack.encode({"type": "hello", "token": alice}))
            assert msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
            await ws.send(payload)
            try:
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            except websockets.ConnectionClosed:
                pass
            assert ws.close_code == code


async def test_ordinary_disconnect_logs_one_debug_line(caplog):
    caplog.set_level(logging.DEBUG, logger="careconnect.hub")
    async with serve_hub() as served:
        alice, _ = clinic(served)
        sock = await Raw.open(served.url, alice)
        await joined(sock)
        await sock.ws.close(1000)
        assert sock.ws.close_code == 1000  # the server answers a normal close with 1000
        for _ in range(100):
            if not served.hub.connections:
                break
            await asyncio.sleep(0.02)
        ws = await websockets.connect(served.url, close_timeout=2)
        ws.transport.abort()  # a dropped network: no close frame at all
        await asyncio.sleep(0.3)
    records = [r for r in caplog.records if r.name.startswith("careconnect.hub")]
    assert not [r for r in records if r.levelno >= logging.WARNING], [r.getMessage() for r in records]
    assert not [r for r in records if r.exc_info], "a disconnect logged a traceback"
    # Exactly one line per disconnect, at debug level, and nothing else from the hub.
    assert [(r.levelno, "disconnected" in r.getMessage()) for r in records] == [(logging.DEBUG, True)] * 2


async def test_a_full_queue_never_drops_an_event_silently():
    """Litestar channels' `backoff` drops silently; here an event to a full queue closes 4429 and counts."""
    async with serve_hub(settings=HubSettings(queue_size=8, maintenance_s=0.2)) as served:
        _, bob = clinic(served)
        slow = await StalledClient.open(served.url, bob, ROOM)
        for _ in range(100):
            if "user:bob" in served.hub.rooms and ROOM in served.hub.rooms and served.hub.rooms[ROOM].members:
                break
            await asyncio.sleep(0.02)
        big = {"id": "7", "notes": "\U0001f600" * 15000}  # 60 KB per frame: socket buffers fill fast
        (connection,) = served.hub.by_user["bob"]
        async with asyncio.timeout(30):
            # Big events until the socket stalls and its queue is one short of full...
            while len(connection._buffer or ()) < 7:
                await served.hub.publish_event("user:bob", AppointmentEvent(appointment=big))
                await asyncio.sleep(0.01)
            # ...then typing, which is best effort: dropped when full, but counted...
            while not served.hub.stats.signals_dropped:
                await served.hub.publish_event(ROOM, TypingOut(room=ROOM, user="alice"))
            assert not served.hub.stats.queue_drops and not connection.closed
            # ...and an event, which is not: the socket is closed with 4429, and counted.
            await served.hub.publish_event("user:bob", AppointmentEvent(appointment=big))
        assert served.hub.stats.queue_drops == 1
        assert await asyncio.to_thread(slow.drain_close_code) == 4429
        slow.close()
        # The room and the hub go on.
        await served.hub.publish_event(ROOM, RoomState(room=ROOM, state="completed"))


async def test_disconnect_user_and_evict():
    async with serve_hub() as served:
        alice, bob = clinic(served)
        a, b = await Raw.open(served.url, alice), await Raw.open(served.url, bob)
        await joined(a)
        await joined(b)
        await served.hub.evict("bob", ROOM)
        error = await b.recv_type("error")
        assert error["code"] == "forbidden" and error["room"] == ROOM
        await a.send({"type": "send", "room": ROOM, "id": "e", "body": "bob is gone"})
        await a.recv_type("ack")
        await b.send({"type": "ping"})
        assert await b.recv() == {"type": "pong"}, "an evicted socket still got the room's messages"
        await served.hub.disconnect_user("alice", 4403)
        assert await a.closed_with() == 4403
        await b.close()
