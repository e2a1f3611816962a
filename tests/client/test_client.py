"""``careconnect_client.HubClient`` against a real hub on a real socket: typed frames, order,
acks, reconnects with ``since``, resends, leaving and removal, the bounded queues' policy,
token refresh before expiry and on 4401, connect retries and errors, MessagePack."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest

from careconnect.hub import HubSettings
from careconnect.hub.encoding import Outgoing, encode_json
from careconnect.hub.protocol import message_frame
from careconnect.hub.store import NewMessage
from careconnect_client import (
    Ack,
    AuthError,
    Closed,
    ConnectError,
    Error,
    HubClient,
    HubError,
    Joined,
    Message,
    Presence,
    ProtocolError,
    Read,
    Rejected,
    Typing,
    UnknownFrame,
    Welcome,
)
from careconnect_client.client import _Pending
from careconnect_client.frames import Send
from tests.client.helpers import next_of
from tests.hub.harness import FlakyStore, serve_hub

ROOM = "consultation:c1"
FAST = HubSettings(maintenance_s=0.1, revalidate_s=0.2, send_limit=1000)


def clinic(served):
    alice = served.auth.add("alice", "patient")
    bob = served.auth.add("bob", "doctor")
    served.rooms.add(ROOM, [("alice", "patient"), ("bob", "doctor")])
    return alice, bob


def jwt_shaped(served, user: str, role: str, lifetime: float) -> str:
    """A token whose payload carries iat/exp as the server's JWTs do (the harness checks it by name)."""
    now = time.time()
    payload = base64.urlsafe_b64encode(json.dumps({"sub": user, "iat": now, "exp": now + lifetime}).encode())
    name = served.auth.add(user, role, expires_in=lifetime)
    token = f"eyJhbGciOiJIUzI1NiJ9.{payload.decode().rstrip('=')}.{name}"
    served.auth.users[token] = served.auth.users.pop(name)
    return token


async def until(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polling client state is the point
            await asyncio.sleep(0.02)


async def test_typed_frames_acks_and_ordered_delivery_to_every_member():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        async with HubClient(served.url, alice_token) as alice, HubClient(served.url, bob_token) as bob:
            assert isinstance(alice.welcome, Welcome) and alice.welcome.user.id == "alice"
            room = await alice.join(ROOM)
            assert isinstance(room.joined, Joined) and room.joined.state == "in_progress"
            bobs = await bob.join(ROOM)
            presence = await next_of(alice, Presence)
            assert presence.user.id == "bob" and presence.online is True
            acks = await asyncio.gather(*(room.send(f"message {i}") for i in range(20)))
            assert all(isinstance(a, Ack) for a in acks)
            assert sorted(a.seq for a in acks) == list(range(1, 21))
            for each in (room, bobs):
                got = [await each.get(timeout=5) for _ in range(20)]
                assert all(isinstance(m, Message) for m in got)
                assert [m.seq for m in got] == list(range(1, 21))
                assert got[0].sender.id == "alice" and got[0].kind == "text"
            await bobs.typing()
            assert (await next_of(alice, Typing)).user == "bob"
            await bobs.read(20)
            read = await next_of(alice, Read)
            assert read.user == "bob" and read.seq == 20
            with pytest.raises(Rejected) as refused:
                await alice.join("consultation:elsewhere", timeout=5)
            assert refused.value.code == "not_found" and isinstance(refused.value, HubError)
            assert "consultation:elsewhere" not in alice.rooms


async def test_an_unknown_frame_type_is_an_unknown_frame_not_a_failure():
    async with serve_hub(settings=FAST) as served:
        alice_token, _ = clinic(served)
        async with HubClient(served.url, alice_token) as alice:
            room = await alice.join(ROOM)
            served.hub.deliver_local(ROOM, Outgoing(b'{"type":"from_the_future","room":"consultation:c1","x":1}'))
            await room.send("still fine")
            event = await next_of(alice, UnknownFrame)
            assert event.type == "from_the_future" and event.data["x"] == 1
            assert (await room.get(timeout=5)).body == "still fine"
            assert alice.stats.bad_frames == 0


async def test_reconnect_rejoins_with_since_and_gets_what_it_missed_once():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        async with HubClient(served.url, alice_token) as alice, HubClient(served.url, bob_token) as bob:
            room = await alice.join(ROOM)
            bobs = await bob.join(ROOM)
            await room.send("before")
            assert (await bobs.get(timeout=5)).body == "before"
            await bob.drop_connection()
            for i in range(5):
                await room.send(f"while away {i}")
            got = [(await bobs.get(timeout=10)).body for _ in range(5)]
            assert got == [f"while away {i}" for i in range(5)]
            assert bob.reconnects == 1
            await room.send("after")
            last = await bobs.get(timeout=5)
            assert last.body == "after" and last.seq == 7 and bobs.last_seq == 7
            assert bob.stats.reconnects == 1


async def test_an_unacked_message_is_resent_with_its_id_and_stored_once():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        async with HubClient(served.url, alice_token) as alice, HubClient(served.url, bob_token) as bob:
            room = await alice.join(ROOM)
            bobs = await bob.join(ROOM)
            first = await room.send("exactly once", id="fixed-id")
            # As if the ack had been lost with the connection: the client still holds it as unacked.
            lost = _Pending(
                Send(room=ROOM, id="fixed-id", body="exactly once"), asyncio.get_running_loop().create_future()
            )
            alice._unacked["fixed-id"] = lost
            await alice.drop_connection()
            again = await asyncio.wait_for(lost.future, 10)
            assert (again.seq, again.ts) == (first.seq, first.ts)
            # The same id from another process (a restarted bot): the original ack, nothing new.
            async with HubClient(served.url, alice_token) as restarted:
                await restarted.join(ROOM)
                repeat = await restarted.send(ROOM, "exactly once", id="fixed-id")
                assert repeat.seq == first.seq
            await room.send("next")
            bodies = [(await bobs.get(timeout=5)).body for _ in range(2)]
            assert bodies == ["exactly once", "next"]
            assert await served.hub.store.last_seq(ROOM) == 2
            assert alice.unacked == 0


async def test_a_send_while_disconnected_goes_out_after_the_reconnect():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        async with HubClient(served.url, alice_token) as alice, HubClient(served.url, bob_token) as bob:
            room = await alice.join(ROOM)
            bobs = await bob.join(ROOM)
            await alice.drop_connection()
            ack = await room.send("sent into the gap", timeout=10)
            assert ack.seq == 1
            assert (await bobs.get(timeout=5)).body == "sent into the gap"


async def test_send_during_a_database_outage_is_retried_until_stored():
    store = FlakyStore()
    async with serve_hub(settings=FAST, store=store) as served:
        alice_token, _ = clinic(served)
        async with HubClient(served.url, alice_token) as alice:
            room = await alice.join(ROOM)
            store.down = True
            pending = asyncio.create_task(room.send("during the outage", timeout=20))
            await asyncio.sleep(0.3)
            assert not pending.done()
            store.down = False
            ack = await asyncio.wait_for(pending, 20)
            assert ack.seq == 1


async def test_a_gap_is_filled_by_a_rejoin_in_seq_order():
    async with serve_hub(settings=FAST) as served:
        alice_token, _ = clinic(served)
        async with HubClient(served.url, alice_token) as alice:
            room = await alice.join(ROOM)
            stored = await served.hub.store.append_batch(
                [NewMessage(ROOM, f"x{i}", "bob", "doctor", "Bob", f"hidden {i}") for i in (1, 2)]
            )
            served.hub.deliver_local(ROOM, Outgoing(encode_json(message_frame(stored[1].message))))
            got = [(await room.get(timeout=5)).seq for _ in range(2)]
            assert got == [1, 2]
            assert room.last_seq == 2


async def test_a_left_room_is_not_rejoined_after_a_reconnect():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        async with HubClient(served.url, alice_token) as alice, HubClient(served.url, bob_token) as bob:
            room = await alice.join(ROOM)
            bobs = await bob.join(ROOM)
            await room.leave()
            with pytest.raises(StopAsyncIteration):
                await room.get(timeout=5)
            await alice.drop_connection()
            await until(lambda: alice.reconnects == 1 and alice.connected)
            await bobs.send("not for alice")
            with pytest.raises(Rejected) as refused:  # the server has alice out of the room
                await alice.send(ROOM, "hello?", timeout=5)
            assert refused.value.code == "forbidden"
            assert ROOM not in alice.rooms


async def test_a_removed_room_ends_its_iterator_and_is_not_rejoined():
    async with serve_hub(settings=FAST) as served:
        alice_token, _ = clinic(served)
        async with HubClient(served.url, alice_token) as alice:
            room = await alice.join(ROOM)
            await served.hub.evict("alice", ROOM)
            notice = await next_of(alice, Error)
            assert notice.code == "forbidden" and notice.room == ROOM
            with pytest.raises(StopAsyncIteration):
                await room.get(timeout=5)
            assert room.removed is not None and ROOM not in alice.rooms
            await alice.drop_connection()
            await until(lambda: alice.reconnects == 1 and alice.connected)
            await asyncio.sleep(0.3)
            assert ROOM not in served.hub.rooms or not served.hub.rooms[ROOM].members


async def test_a_full_message_queue_loses_nothing_and_a_full_event_queue_drops_the_oldest():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        async with (
            HubClient(served.url, alice_token, queue_size=4) as alice,
            HubClient(served.url, bob_token) as bob,
        ):
            room = await alice.join(ROOM)
            bobs = await bob.join(ROOM)
            for i in range(1, 13):
                await bobs.send(f"m{i}")
            for seq in range(1, 11):
                await bobs.read(seq)
            await bobs.send("marker")  # after every read: once alice's socket has it, they are in
            await until(lambda: room.overflows >= 1)
            await asyncio.sleep(0.3)
            assert room.buffered <= 4  # bounded: the rest stays on the server
            got = [(await room.get(timeout=5)).body for _ in range(13)]
            assert got == [f"m{i}" for i in range(1, 13)] + ["marker"]  # every one, once, in order
            assert room.last_seq == 13
            events = []
            while True:
                try:
                    events.append(await alice.receive(timeout=0.5))
                except TimeoutError:
                    break
            reads = [e.seq for e in events if isinstance(e, Read)]
            assert len(events) <= 4 and alice.stats.events_dropped >= 7
            assert reads and reads == sorted(reads) and reads[-1] == 10  # the newest were kept


async def test_a_token_is_refreshed_before_it_expires_once_per_expiry():
    async with serve_hub(settings=FAST) as served:
        clinic(served)
        calls: list[float] = []

        async def provider() -> str:
            calls.append(time.time())
            return jwt_shaped(served, "alice", "patient", lifetime=3.0)

        async with HubClient(served.url, token_provider=provider) as alice:
            room = await alice.join(ROOM)
            await asyncio.sleep(7.5)  # past two expiries: each token renewed at its half-life
            ack = await room.send("still connected")
            assert ack.seq == 1
            assert alice.reconnects == 0  # never closed with 4401: every refresh went out in time
            assert 3 <= len(calls) <= 6  # the first, then one per token (about every 1.5 s)
            assert alice.stats.token_calls == len(calls)
            await alice.drop_connection()
            await until(lambda: alice.reconnects == 1 and alice.connected)
            before = len(calls)
            await room.send("after a reconnect")
            assert len(calls) - before <= 1  # the reconnect reused the still-valid token


async def test_a_4401_gets_one_new_token_and_a_fixed_token_ends_with_auth_error():
    async with serve_hub(settings=FAST) as served:
        clinic(served)
        issued: list[str] = []

        async def provider() -> str:
            issued.append(served.auth.add("alice", "patient", expires_in=600))
            return issued[-1]

        async with HubClient(served.url, token_provider=provider) as alice:
            room = await alice.join(ROOM)
            served.auth.revoked.add(served.auth.users[issued[0]].session_id)  # closed with 4401
            await until(lambda: alice.reconnects == 1 and alice.connected)
            assert (await room.send("with the new token")).seq == 1
            assert len(issued) == 2  # one call for the refused token
            assert alice.close_code == 4401

        fixed = served.auth.add("alice", "patient", expires_in=600)
        alice = HubClient(served.url, fixed)
        await alice.connect()
        room = await alice.join(ROOM)
        served.auth.revoked.add(served.auth.users[fixed].session_id)
        with pytest.raises(AuthError) as ended:
            await alice.receive(timeout=10)
        assert ended.value.code == 4401 and alice.reconnects == 0
        with pytest.raises(AuthError):
            await room.send("too late")
        await alice.close()


async def test_connect_retries_moves_on_and_names_its_errors():
    async with serve_hub(settings=FAST) as served:
        alice_token, _ = clinic(served)
        dead = "ws://127.0.0.1:9/ws"
        async with HubClient([dead, served.url], alice_token, backoff_base=0.05, backoff_cap=0.1) as alice:
            assert alice.url == served.url and alice.welcome is not None
        with pytest.raises(ConnectError):
            await HubClient(dead, alice_token, connect_retries=2, backoff_base=0.05, backoff_cap=0.1).connect()
        with pytest.raises(AuthError) as refused:
            await HubClient(served.url, "not-a-token").connect()
        assert refused.value.code == 4401
        with pytest.raises(ProtocolError):
            await HubClient(served.url.replace("/ws", "/nowhere"), alice_token).connect()
        with pytest.raises(ValueError, match="ws://"):
            HubClient("http://127.0.0.1/ws", alice_token)
        idle = HubClient(served.url, alice_token)
        with pytest.raises(Closed):
            await idle.send(ROOM, "never connected")


async def test_closing_ends_the_iterators_and_pending_sends():
    async with serve_hub(settings=FAST) as served:
        alice_token, _ = clinic(served)
        alice = HubClient(served.url, alice_token)
        await alice.connect()
        room = await alice.join(ROOM)
        reading = asyncio.create_task(room.get())
        events = asyncio.create_task(alice.receive())
        await asyncio.sleep(0.1)
        await alice.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(reading, 5)
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(events, 5)
        with pytest.raises(Closed):
            await room.send("after close")


async def test_messagepack_carries_the_same_frames():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        async with (
            HubClient(served.url, alice_token, encoding="msgpack") as alice,
            HubClient(served.url, bob_token) as bob,
        ):
            assert alice._codec.binary  # the server took the subprotocol
            room = await alice.join(ROOM)
            bobs = await bob.join(ROOM)
            await bobs.send("über JSON")
            got = await room.get(timeout=5)
            assert isinstance(got, Message) and got.body == "über JSON" and got.sender.id == "bob"
            ack = await room.send("and back")
            assert ack.seq == 2 and (await bobs.get(timeout=5)).seq == 1


async def test_a_rejoin_during_a_database_outage_is_asked_again_until_it_succeeds():
    store = FlakyStore()
    async with serve_hub(settings=FAST, store=store) as served:
        alice_token, bob_token = clinic(served)
        async with HubClient(served.url, alice_token) as alice, HubClient(served.url, bob_token) as bob:
            room = await alice.join(ROOM)
            bobs = await bob.join(ROOM)
            await bobs.send("before")
            assert (await room.get(timeout=5)).seq == 1
            store.down = True
            await alice.drop_connection()
            await until(lambda: alice.reconnects == 1)
            await asyncio.sleep(1.0)  # its re-join is refused with `internal` meanwhile
            store.down = False
            await bobs.send("after")
            got = await room.get(timeout=10)
            assert (got.seq, got.body) == (2, "after") and ROOM in alice.rooms
            refused = []
            while alice._events:  # what the outage said, as events
                event = await alice.receive(timeout=1)
                if isinstance(event, Error):
                    refused.append(event.code)
            assert "internal" in refused
