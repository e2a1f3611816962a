"""The hub protocol through real sockets: every frame type, error code and close code."""

from __future__ import annotations

import asyncio

import msgspec
import websockets

from careconnect.hub import HubSettings
from tests.hub.harness import Raw, StalledClient, serve_hub

ROOM = "consultation:42"


def clinic(served, state="in_progress"):
    alice = served.auth.add("alice", "patient")
    bob = served.auth.add("bob", "doctor")
    served.rooms.add(ROOM, [("alice", "patient"), ("bob", "doctor")], state)
    return alice, bob


async def test_hello_welcome_join_send_ack_message():
    async with serve_hub() as served:
        alice, bob = clinic(served)
        a = await Raw.open(served.url)
        await a.send({"type": "hello", "token": alice, "client": "test/1"})
        welcome = await a.recv()
        assert welcome["type"] == "welcome"
        assert welcome["user"] == {"id": "alice", "role": "patient", "name": "Alice"}
        assert welcome["heartbeat_s"] == 25 and welcome["server_time"].endswith("Z") and welcome["session"]
        b = await Raw.open(served.url, bob)
        await a.send({"type": "join", "room": ROOM})
        joined = await a.recv_type("joined")
        assert joined["room"] == ROOM and joined["last_seq"] == 0 and joined["state"] == "in_progress"
        assert {m["id"]: m["online"] for m in joined["members"]} == {"alice": True, "bob": False}
        await b.send({"type": "join", "room": ROOM, "since": 0})
        await b.recv_type("joined")
        presence = await a.recv_type("presence")
        assert presence == {
            "type": "presence",
            "room": ROOM,
            "user": {"id": "bob", "role": "doctor", "name": "Bob"},
            "online": True,
        }
        await a.send({"type": "send", "room": ROOM, "id": "m-1", "body": "  hello <b>doctor</b>  "})
        ack = await a.recv_type("ack")
        assert ack["id"] == "m-1" and ack["seq"] == 1 and ack["room"] == ROOM and ack["ts"].endswith("Z")
        for sock in (a, b):
            message = await sock.recv_type("message")
            assert message["seq"] == 1 and message["id"] == "m-1" and message["body"] == "hello <b>doctor</b>"
            assert message["sender"] == {"id": "alice", "role": "patient", "name": "Alice"}
        await a.close()
        offline = await b.recv_type("presence")
        assert offline["online"] is False and offline["user"]["id"] == "alice"
        await b.close()


async def test_resend_is_idempotent_and_replay_fills_gaps():
    async with serve_hub() as served:
        alice, bob = clinic(served)
        a = await Raw.open(served.url, alice)
        await a.send({"type": "join", "room": ROOM})
        await a.recv_type("joined")
        for i in range(1, 6):
            await a.send({"type": "send", "room": ROOM, "id": f"m-{i}", "body": f"message {i}"})
        acks = [await a.recv_type("ack") for _ in range(5)]
        assert [x["seq"] for x in acks] == [1, 2, 3, 4, 5]
        # Resending m-3 answers the original ack and delivers nothing.
        await a.send({"type": "send", "room": ROOM, "id": "m-3", "body": "message 3"})
        again = await a.recv_type("ack")
        assert again["seq"] == 3 and again["ts"] == acks[2]["ts"]
        assert await served.hub.store.last_seq(ROOM) == 5
        # Bob joins having seen up to seq 2: replay 3..5 in order, then live.
        b = await Raw.open(served.url, bob)
        await b.send({"type": "join", "room": ROOM, "since": 2})
        joined = await b.recv_type("joined")
        assert joined["last_seq"] == 5
        assert [(await b.recv_type("message"))["seq"] for _ in range(3)] == [3, 4, 5]
        await a.send({"type": "send", "room": ROOM, "id": "m-6", "body": "six"})
        assert (await b.recv_type("message"))["seq"] == 6
        # since omitted: the last 50 (here all six).
        c = await Raw.open(served.url, bob)
        await c.send({"type": "join", "room": ROOM})
        await c.recv_type("joined")
        assert [(await c.recv_type("message"))["seq"] for _ in range(6)] == [1, 2, 3, 4, 5, 6]
        for sock in (a, b, c):
            await sock.close()


async def test_join_seam_has_no_gap_and_no_duplicate_under_traffic():
    async with serve_hub(settings=HubSettings(send_limit=1000, maintenance_s=0.2)) as served:
        alice, bob = clinic(served)
        a = await Raw.open(served.url, alice)
        await a.send({"type": "join", "room": ROOM})
        await a.recv_type("joined")

        async def blast():
            for i in range(200):
                await a.send({"type": "send", "room": ROOM, "id": f"x-{i}", "body": str(i)})
                await asyncio.sleep(0)

        sender = asyncio.create_task(blast())
        await asyncio.sleep(0.01)
        b = await Raw.open(served.url, bob)
        await b.send({"type": "join", "room": ROOM, "since": 0})
        await b.recv_type("joined")
        await sender
        seen = []
        async with asyncio.timeout(10):
            while len(seen) < 200 and (not seen or seen[-1] < 200):
                frame = await b.recv()
                if frame.get("type") == "message":
                    seen.append(frame["seq"])
        assert seen == list(range(seen[0], 201)), "gap or duplicate at the join seam"
        await a.close()
        await b.close()


async def test_errors_never_close_the_socket():
    async with serve_hub() as served:
        alice, _ = clinic(served)
        served.rooms.add("consultation:closed", [("alice", "patient")], "completed")
        served.rooms.add("consultation:theirs", [("bob", "doctor")])
        a = await Raw.open(served.url, alice)
        await a.send({"type": "join", "room": "consultation:nowhere"})
        error = await a.recv_type("error")
        assert error["code"] == "not_found" and error["room"] == "consultation:nowhere"
        await a.send({"type": "join", "room": "consultation:theirs"})
        assert (await a.recv_type("error"))["code"] == "forbidden"
        await a.send({"type": "join", "room": "user:someone-else"})
        assert (await a.recv_type("error"))["code"] == "forbidden"
        await a.send({"type": "send", "room": ROOM, "id": "n1", "body": "not joined"})
        error = await a.recv_type("error")
        assert error["code"] == "forbidden" and error["ref"] == "n1"
        await a.send({"type": "join", "room": "consultation:closed"})
        assert (await a.recv_type("joined"))["state"] == "completed"
        await a.send({"type": "send", "room": "consultation:closed", "id": "c1", "body": "late"})
        error = await a.recv_type("error")
        assert error["code"] == "room_closed" and error["ref"] == "c1"
        await a.send({"type": "join", "room": ROOM})
        await a.recv_type("joined")
        await a.send({"type": "send", "room": ROOM, "id": "e1", "body": "   "})
        assert (await a.recv_type("error"))["code"] == "bad_request"
        await a.send({"type": "send", "room": ROOM, "id": "t1", "body": "x" * 4001})
        assert (await a.recv_type("error"))["code"] == "too_large"
        await a.send({"type": "send", "room": ROOM, "id": "i" * 65, "body": "x"})
        assert (await a.recv_type("error"))["code"] == "bad_request"
        await a.send({"type": "teleport", "room": ROOM})
        assert (await a.recv_type("error"))["code"] == "bad_request"
        await a.send({"type": "send", "room": 5, "id": "w1", "body": ["not", "text"]})
        error = await a.recv_type("error")
        assert error["code"] == "bad_request" and error["ref"] == "w1"
        await a.ws.send("[1, 2, 3]")
        assert (await a.recv_type("error"))["code"] == "bad_request"
        await a.send({"type": "hello", "token": alice})
        assert (await a.recv_type("error"))["code"] == "bad_request"
        await a.send({"type": "ping"})
        assert (await a.recv_type("pong")) == {"type": "pong"}
        # Still open and working after all of that.
        await a.send({"type": "send", "room": ROOM, "id": "ok", "body": "still here"})
        assert (await a.recv_type("ack"))["seq"] == 1
        await a.close()


async def test_rate_limit_then_4429():
    async with serve_hub(settings=HubSettings(send_limit=3, send_window_s=60)) as served:
        alice, _ = clinic(served)
        a = await Raw.open(served.url, alice)
        await a.send({"type": "join", "room": ROOM})
        await a.recv_type("joined")
        for i in range(3):
            await a.send({"type": "send", "room": ROOM, "id": f"r{i}", "body": "hi"})
            await a.recv_type("ack")
        for i in range(4):
            await a.send({"type": "send", "room": ROOM, "id": f"l{i}", "body": "hi"})
            assert (await a.recv_type("error"))["code"] == "rate_limited"
        await a.send({"type": "send", "room": ROOM, "id": "l-last", "body": "hi"})
        assert await a.closed_with() == 4429


async def test_close_codes():
    async with serve_hub(settings=HubSettings(hello_timeout_s=0.3), max_frame=2048) as served:
        alice, _ = clinic(served)
        # No hello in time.
        sock = await Raw.open(served.url)
        assert await sock.closed_with() == 4408
        # First frame not hello.
        sock = await Raw.open(served.url)
        await sock.send({"type": "join", "room": ROOM})
        assert await sock.closed_with() == 4400
        # Not JSON at all.
        sock = await Raw.open(served.url)
        await sock.ws.send("{{{ definitely not json")
        assert await sock.closed_with() == 4400
        # Binary garbage on a JSON socket.
        sock = await Raw.open(served.url, alice)
        await sock.ws.send(b"\xff\x00\xfe garbage")
        assert await sock.closed_with() == 4400
        # Bad token.
        sock = await Raw.open(served.url)
        await sock.send({"type": "hello", "token": "forged"})
        assert await sock.closed_with() == 4401
        # Oversized frame.
        sock = await Raw.open(served.url, alice)
        await sock.ws.send("x" * 5000)
        assert await sock.closed_with() == 1009


async def test_token_expiry_revocation_and_disable_close_the_socket():
    async with serve_hub() as served:
        clinic(served)
        short = served.auth.add("carol", "patient", expires_in=0.6)
        sock = await Raw.open(served.url, short)
        assert await sock.closed_with(5) == 4401
        # A refresh in time keeps it open.
        token = served.auth.add("dave", "patient", expires_in=0.6)
        fresh = served.auth.add("dave", "patient", expires_in=600)
        sock = await Raw.open(served.url, token)
        await sock.send({"type": "refresh", "token": fresh})
        await asyncio.sleep(1.2)
        await sock.send({"type": "ping"})
        assert (await sock.recv_type("pong"))["type"] == "pong"
        await sock.send({"type": "refresh", "token": "forged"})
        assert (await sock.recv_type("error"))["code"] == "unauthorized"
        # Revoked session: 4401; disabled account: 4403.
        served.auth.revoked.add(served.auth.users[fresh].session_id)
        assert await sock.closed_with(5) == 4401
        erin = served.auth.add("erin", "patient")
        sock = await Raw.open(served.url, erin)
        served.auth.disabled.add("erin")
        assert await sock.closed_with(5) == 4403


async def test_slow_consumer_is_closed_and_the_room_goes_on():
    settings = HubSettings(queue_size=16, send_limit=10_000, maintenance_s=0.2)
    async with serve_hub(settings=settings) as served:
        alice, bob = clinic(served)
        a = await Raw.open(served.url, alice)
        await a.send({"type": "join", "room": ROOM})
        await a.recv_type("joined")
        # Bob stops reading: a tiny receive buffer and no reads at all.
        slow = await StalledClient.open(served.url, bob, ROOM)
        await asyncio.sleep(0.3)
        body = "\U0001f600" * 4000  # 16 KB of UTF-8 per frame: the socket buffers fill sooner
        async with asyncio.timeout(90):
            for batch in range(2000):
                for i in range(4):
                    await a.send({"type": "send", "room": ROOM, "id": f"s{batch}-{i}", "body": body})
                for _ in range(4):
                    await a.recv_type("ack")  # Alice keeps reading; only Bob is slow
                if served.hub.stats.queue_drops:
                    break
        assert served.hub.stats.queue_drops >= 1
        # Reading again, Bob finds the server closed him with 4429; Alice was never affected.
        assert await asyncio.to_thread(slow.drain_close_code) == 4429
        slow.close()
        await a.send({"type": "send", "room": ROOM, "id": "after", "body": "the room goes on"})
        assert (await a.recv_type("ack"))["id"] == "after"
        await a.close()


async def test_msgpack_subprotocol():
    async with serve_hub() as served:
        alice, _ = clinic(served)
        ws = await websockets.connect(served.url, subprotocols=["careconnect.v1.msgpack"])
        assert ws.subprotocol == "careconnect.v1.msgpack"
        await ws.send(msgspec.msgpack.encode({"type": "hello", "token": alice}))
        welcome = msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))
        assert welcome["type"] == "welcome"
        await ws.send(msgspec.msgpack.encode({"type": "join", "room": ROOM}))
        assert msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5))["type"] == "joined"
        await ws.send(msgspec.msgpack.encode({"type": "send", "room": ROOM, "id": "mp", "body": "packed"}))
        frames = [msgspec.msgpack.decode(await asyncio.wait_for(ws.recv(), 5)) for _ in range(2)]
        kinds = {f["type"] for f in frames}
        assert {"ack", "message"} <= kinds
        await ws.close()


async def test_typing_read_and_room_state_events():
    async with serve_hub() as served:
        alice, bob = clinic(served)
        a = await Raw.open(served.url, alice)
        b = await Raw.open(served.url, bob)
        for sock in (a, b):
            await sock.send({"type": "join", "room": ROOM})
            await sock.recv_type("joined")
        await a.send({"type": "typing", "room": ROOM})
        assert await b.recv_type("typing") == {"type": "typing", "room": ROOM, "user": "alice"}
        await b.send({"type": "read", "room": ROOM, "seq": 3})
        assert await a.recv_type("read") == {"type": "read", "room": ROOM, "user": "bob", "seq": 3}
        from careconnect.hub import RoomState

        await served.hub.publish_event(ROOM, RoomState(room=ROOM, state="completed"))
        assert (await a.recv_type("room_state"))["state"] == "completed"
        from tests.hub.harness import AppointmentEvent

        await served.hub.publish_event("user:bob", AppointmentEvent(appointment={"id": "42", "status": "completed"}))
        assert (await b.recv_type("appointment"))["appointment"]["status"] == "completed"
        await a.close()
        await b.close()


async def test_shutdown_sends_1012():
    async with serve_hub() as served:
        alice, _ = clinic(served)
        sock = await Raw.open(served.url, alice)
        stopper = asyncio.create_task(served.hub.stop())
        assert await sock.closed_with() == 1012
        await stopper


async def test_server_shutdown_through_the_plugin_sends_1012_and_stops_the_hub():
    async with serve_hub() as served:
        alice, bob = clinic(served)
        a, b = await Raw.open(served.url, alice), await Raw.open(served.url, bob)
        await a.send({"type": "join", "room": ROOM})
        await a.recv_type("joined")
        served.server.should_exit = True  # what SIGTERM does
        assert await a.closed_with() == 1012
        assert await b.closed_with() == 1012
        for _ in range(100):
            if not served.hub.running and not served.hub.writer.running:
                break
            await asyncio.sleep(0.05)
        assert not served.hub.running and not served.hub.writer.running  # lifecycle owned by the plugin
