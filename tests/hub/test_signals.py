"""Video call signalling (PROTOCOL.md 1.1): ``signal`` frames to one online member, never stored.

Real sockets on served hubs; two workers over the in-process bus and over Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from careconnect.hub import (
    Hub,
    HubSettings,
    MemoryBroker,
    MemoryBus,
    MemoryPresence,
    MemoryStore,
    Principal,
    RedisPresence,
    RoomDenied,
    SignalPolicy,
)
from careconnect.hub.brokers.redis import RedisBroker
from careconnect.hub.signals import ended_body
from tests.hub.conftest import REDIS_URL, require_redis
from tests.hub.harness import Raw, RoomBook, StaticAuth, serve_hub

FAST = {"maintenance_s": 0.2, "revalidate_s": 0.5, "presence_sweep_s": 0.5}


class CallBook(RoomBook):
    """Rooms whose calls may be signalled only while ``in_progress``, and a log of calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    async def check_signal(self, principal: Principal, room: str) -> None:
        info = self.rooms.get(room)
        if info is None or principal.id not in {m.id for m in info["members"]}:
            raise RoomDenied("forbidden", "not a member of this room")
        if info["state"] != "in_progress":
            raise RoomDenied("room_closed", "calls only while the consultation is in progress")

    async def call_started(self, principal: Principal, room: str, caller_id: str, callee_id: str) -> None:
        self.calls.append(("started", room, caller_id, callee_id))

    async def call_ended(self, principal: Principal, room: str, caller_id: str, callee_id: str, seconds: float) -> None:
        self.calls.append(("ended", room, caller_id, callee_id, seconds))


def test_the_test_policy_has_the_optional_ability() -> None:
    assert isinstance(CallBook(), SignalPolicy)
    assert not isinstance(RoomBook(), SignalPolicy)


class World:
    def __init__(self, one: Any, two: Any, auth: StaticAuth, rooms: CallBook, store: MemoryStore) -> None:
        self.one, self.two, self.auth, self.rooms, self.store = one, two, auth, rooms, store
        self.room = rooms.add(f"consultation:{uuid.uuid4().hex[:8]}", [("alice", "patient"), ("bob", "doctor")])
        self.other = rooms.add(f"consultation:{uuid.uuid4().hex[:8]}", [("carol", "patient"), ("dan", "doctor")])
        self.tokens = {name: auth.add(name) for name in ("alice", "bob", "carol", "dan")}

    async def joined(self, name: str, room: str, *, on: Any = None) -> Raw:
        raw = await Raw.open((on or self.one).url, self.tokens[name])
        await raw.send({"type": "join", "room": room})
        assert (await raw.recv_type("joined"))["room"] == room
        return raw


@contextlib.asynccontextmanager
async def world(broker_kind: str = "memory", settings: HubSettings | None = None) -> AsyncIterator[World]:
    """Two workers sharing a store (as PostgreSQL would) over the in-process bus or Redis."""
    store, auth, rooms = MemoryStore(), StaticAuth(), CallBook()
    settings = settings or HubSettings(**FAST)  # type: ignore[arg-type]
    bus, presence = MemoryBus(), MemoryPresence()
    if broker_kind == "redis":
        require_redis()

    def hub() -> Hub:
        if broker_kind == "redis":
            broker: Any = RedisBroker(REDIS_URL)
            shared: Any = RedisPresence(REDIS_URL, broker.worker_id, ttl=5)
        else:
            broker, shared = MemoryBroker(bus), presence
        return Hub(authenticator=auth, policy=rooms, store=store, broker=broker, presence=shared, settings=settings)

    async with serve_hub(hub(), auth=auth, rooms=rooms) as one, serve_hub(hub(), auth=auth, rooms=rooms) as two:
        yield World(one, two, auth, rooms, store)


async def nothing_more(raw: Raw, kind: str, wait: float = 0.3) -> None:
    """No frame of type ``kind`` arrives within ``wait`` seconds."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait):
            while True:
                frame = await raw.recv(wait)
                assert frame.get("type") != kind, frame


def signal(room: str, to: str, kind: str = "offer", **data: Any) -> dict[str, Any]:
    return {"type": "signal", "room": room, "to": to, "kind": kind, "data": data}


@pytest.fixture(params=["memory", "redis"])
def broker_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_signal_reaches_its_member_on_the_other_worker_and_nobody_else(broker_kind: str) -> None:
    async with world(broker_kind) as w:
        alice = await w.joined("alice", w.room)
        bob = await w.joined("bob", w.room, on=w.two)
        bob_too = await w.joined("bob", w.room, on=w.one)  # a second tab, on alice's worker
        carol = await w.joined("carol", w.other, on=w.two)
        await asyncio.sleep(0.3)  # presence settles across workers
        sdp = {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 200}
        await alice.send(signal(w.room, "bob", description=sdp, call="c1"))
        for tab in (bob, bob_too):
            got = await tab.recv_type("signal")
            assert got == {
                "type": "signal",
                "room": w.room,
                "from": {"id": "alice", "role": "patient", "name": "Alice"},
                "kind": "offer",
                "data": {"description": sdp, "call": "c1"},
            }
        await bob.send(signal(w.room, "alice", "answer", description={"type": "answer", "sdp": "v=0"}))
        assert (await alice.recv_type("signal"))["from"]["id"] == "bob"
        await nothing_more(carol, "signal")
        await nothing_more(alice, "signal")
        assert await w.store.last_seq(w.room) == 0  # never stored
        assert w.one.hub.stats.call_signals + w.two.hub.stats.call_signals == 2
        for raw in (alice, bob, bob_too, carol):
            await raw.close()


async def test_refusals_non_member_other_room_closed_room_offline_target(broker_kind: str) -> None:
    async with world(broker_kind) as w:
        alice = await w.joined("alice", w.room)
        carol = await w.joined("carol", w.other, on=w.two)
        await asyncio.sleep(0.3)
        # bob is a member but not online in the room
        await alice.send(signal(w.room, "bob"))
        error = await alice.recv_type("error")
        assert (error["code"], error["room"]) == ("not_found", w.room)
        # carol is online, but in another room
        await alice.send(signal(w.room, "carol"))
        assert (await alice.recv_type("error"))["code"] == "not_found"
        # carol is no member of alice's room: she cannot signal in it
        await carol.send(signal(w.room, "alice"))
        assert (await carol.recv_type("error"))["code"] == "forbidden"
        await nothing_more(alice, "signal")
        # a room not in progress (the waiting room, or ended): room_closed, and the socket lives
        bob = await w.joined("bob", w.room, on=w.two)
        await asyncio.sleep(0.3)
        for state in ("checked_in", "completed"):
            w.rooms.rooms[w.room]["state"] = state
            await alice.send(signal(w.room, "bob", "ring", call="c2"))
            assert (await alice.recv_type("error"))["code"] == "room_closed"
        await nothing_more(bob, "signal")
        w.rooms.rooms[w.room]["state"] = "in_progress"
        await alice.send(signal(w.room, "bob", "ring", call="c2"))
        assert (await bob.recv_type("signal"))["kind"] == "ring"
        assert await w.store.last_seq(w.room) == 0  # a ring alone is no call yet
        for raw in (alice, bob, carol):
            await raw.close()


async def test_malformed_and_oversized_signals_get_errors_and_the_socket_goes_on() -> None:
    settings = HubSettings(signal_max_bytes=2_000, **FAST)  # type: ignore[arg-type]
    async with world(settings=settings) as w:
        alice = await w.joined("alice", w.room)
        bob = await w.joined("bob", w.room)
        await asyncio.sleep(0.1)
        bad: list[tuple[dict[str, Any], str]] = [
            (signal(w.room, "bob", "sdp"), "bad_request"),  # unknown kind
            (signal(w.room, "", "offer"), "bad_request"),  # no target
            (signal(w.room, "x" * 65, "offer"), "bad_request"),
            (signal(w.room, "alice", "offer"), "bad_request"),  # to oneself
            ({"type": "signal", "room": w.room, "to": "bob", "kind": "ice", "data": "candidate"}, "bad_request"),
            ({"type": "signal", "room": w.room, "to": 7, "kind": "ice"}, "bad_request"),
            (signal(w.room, "bob", "offer", sdp="x" * 3_000), "too_large"),
            (signal("consultation:nope", "bob"), "forbidden"),  # not joined there
        ]
        for frame, code in bad:
            await alice.send(frame)
            error = await alice.recv_type("error")
            assert error["code"] == code, (frame, error)
        await nothing_more(bob, "signal")
        await alice.send(signal(w.room, "bob", "ice", candidate={"candidate": "", "sdpMid": "0"}))
        assert (await bob.recv_type("signal"))["kind"] == "ice"
        await alice.send({"type": "signal", "room": w.room, "to": "bob", "kind": "hangup"})  # no data
        assert (await bob.recv_type("signal"))["data"] == {}
        await alice.close()
        await bob.close()


async def test_signals_have_their_own_rate_limit_and_chat_is_unaffected() -> None:
    settings = HubSettings(signal_limit=5, signal_window_s=10.0, **FAST)  # type: ignore[arg-type]
    async with world(settings=settings) as w:
        alice = await w.joined("alice", w.room)
        bob = await w.joined("bob", w.room, on=w.two)
        await asyncio.sleep(0.1)
        for i in range(5):
            await alice.send(signal(w.room, "bob", "ice", n=i))
        assert [(await bob.recv_type("signal"))["data"]["n"] for _ in range(5)] == [0, 1, 2, 3, 4]
        await alice.send(signal(w.room, "bob", "ice", n=5))
        assert (await alice.recv_type("error"))["code"] == "rate_limited"
        await nothing_more(bob, "signal")
        await alice.send({"type": "send", "room": w.room, "id": "m1", "body": "still chatting"})
        assert (await alice.recv_type("ack"))["seq"] == 1  # sends count apart from signals
        # Refused five times in a row (limited_close_after): the storm is not answered, it is closed.
        for i in range(6, 12):
            await alice.send(signal(w.room, "bob", "ice", n=i))
        codes = []
        with contextlib.suppress(Exception):
            while True:
                frame = await alice.recv(2)
                if frame["type"] == "error":
                    codes.append(frame["code"])
        assert codes == ["rate_limited"] * 3, codes  # the 2nd to 4th refusal in a row; the 5th closes
        assert alice.ws.close_code == 4429
        # Coming back on a new socket does not reset the count: the limit is the user's, and the
        # storm goes on being closed.
        again = await w.joined("alice", w.room)
        await again.send(signal(w.room, "bob", "ice", n=99))
        assert await again.closed_with() == 4429
        await nothing_more(bob, "signal")
        await bob.close()


async def test_an_answered_call_leaves_its_start_and_one_end_in_the_history(broker_kind: str) -> None:
    async with world(broker_kind) as w:
        bob = await w.joined("bob", w.room)  # the doctor calls
        alice = await w.joined("alice", w.room, on=w.two)
        await asyncio.sleep(0.3)
        await bob.send(signal(w.room, "alice", "ring", call="call-1"))
        assert (await alice.recv_type("signal"))["kind"] == "ring"
        await alice.send(signal(w.room, "bob", "ring", call="call-1", accept=True))
        assert (await bob.recv_type("signal"))["data"]["accept"] is True
        for raw in (alice, bob):
            started = await raw.recv_type("message")
            assert (started["kind"], started["body"], started["seq"]) == ("call", "Video call started", 1)
            assert started["id"] == "call:call-1:start"
        await bob.send(signal(w.room, "alice", "hangup", call="call-1"))
        await alice.recv_type("signal")
        await alice.send(signal(w.room, "bob", "hangup", call="call-1"))  # both hang up: one end
        for raw in (alice, bob):
            ended = await raw.recv_type("message")
            assert (ended["kind"], ended["body"], ended["seq"]) == ("call", "Video call ended (under a minute)", 2)
        await nothing_more(bob, "message", 0.5)
        stored = await w.store.read_last(w.room, 10)
        assert [(m.kind, m.sender_id) for m in stored] == [("call", "alice"), ("call", "alice")]
        await bob.send({"type": "send", "room": w.room, "id": "t1", "body": "thanks"})
        text = await alice.recv_type("message")
        assert text["kind"] == "text"
        await asyncio.sleep(0.1)
        assert [c[0] for c in w.rooms.calls] == ["started", "ended"]
        assert w.rooms.calls[0][2:] == ("bob", "alice")  # caller, callee
        assert w.rooms.calls[1][2:4] == ("bob", "alice") and w.rooms.calls[1][4] >= 0
        # a declined call (hangup before any accept) stores nothing
        await bob.send(signal(w.room, "alice", "ring", call="call-2"))
        await alice.send(signal(w.room, "bob", "hangup", call="call-2", reason="declined"))
        await bob.recv_type("signal")
        await nothing_more(bob, "message", 0.3)
        assert await w.store.last_seq(w.room) == 3
        await alice.close()
        await bob.close()


def test_the_end_of_a_call_reads_in_minutes() -> None:
    assert ended_body(12) == "Video call ended (under a minute)"
    assert ended_body(60) == "Video call ended (1 min)"
    assert ended_body(12 * 60 + 10) == "Video call ended (12 min)"
