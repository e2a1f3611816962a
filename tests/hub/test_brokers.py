"""One broker contract, run against the in-process broker and Redis; plus hub-level guarantees."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from careconnect.hub import Hub, HubSettings, MemoryBroker, MemoryBus, MemoryStore, RedisPresence
from careconnect.hub.brokers.redis import RedisBroker
from tests.hub.harness import Raw, RoomBook, StaticAuth, serve_hub
from tests.infra import REDIS_URL, need_redis

REDIS_TEST_URL = REDIS_URL.rsplit("/", 1)[0] + "/4"


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, channel: str, payload: bytes) -> None:
        self.items.append((channel, payload))
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def pair(kind: str) -> AsyncIterator[tuple[object, object, Inbox, Inbox]]:
    if kind == "memory":
        bus = MemoryBus()
        a, b = MemoryBroker(bus), MemoryBroker(bus)
    else:
        need_redis()
        a, b = RedisBroker(REDIS_TEST_URL), RedisBroker(REDIS_TEST_URL)
    inbox_a, inbox_b = Inbox(), Inbox()
    await a.start(inbox_a)
    await b.start(inbox_b)
    if kind == "redis":
        await asyncio.wait_for(a.connected.wait(), 5)
        await asyncio.wait_for(b.connected.wait(), 5)
    try:
        yield a, b, inbox_a, inbox_b
    finally:
        await a.stop()
        await b.stop()


@pytest.fixture(params=["memory", "redis"])
def broker_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def settle(kind: str) -> None:
    await asyncio.sleep(0.15 if kind == "redis" else 0)


async def test_ordered_delivery_and_no_echo(broker_kind):
    async with pair(broker_kind) as (a, b, inbox_a, inbox_b):
        await a.subscribe("room:1")
        await b.subscribe("room:1")
        await settle(broker_kind)
        for i in range(100):
            assert await a.publish("room:1", str(i).encode())
        await inbox_b.wait_for(100)
        assert [p for _, p in inbox_b.items] == [str(i).encode() for i in range(100)]
        assert all(channel == "room:1" for channel, _ in inbox_b.items)
        await settle(broker_kind)
        assert inbox_a.items == []  # a worker never hears its own publications


async def test_only_subscribed_channels_and_unsubscribe(broker_kind):
    async with pair(broker_kind) as (a, b, _, inbox_b):
        await b.subscribe("room:x")
        await settle(broker_kind)
        await a.publish("room:y", b"not for b")
        await a.publish("room:x", b"for b")
        await inbox_b.wait_for(1)
        await b.unsubscribe("room:x")
        await settle(broker_kind)
        await a.publish("room:x", b"after unsubscribe")
        await settle(broker_kind)
        assert [p for _, p in inbox_b.items] == [b"for b"]
        assert b.subscriptions() == 0


async def test_subscribe_unsubscribe_race_loses_nothing(broker_kind):
    """Litestar channels #4894: a quick unsubscribe/subscribe must end subscribed."""
    async with pair(broker_kind) as (a, b, _, inbox_b):
        for _ in range(20):
            await asyncio.gather(b.subscribe("room:r"), b.unsubscribe("room:r"), b.subscribe("room:r"))
        await settle(broker_kind)
        await a.publish("room:r", b"still here")
        await inbox_b.wait_for(1)
        assert b.subscriptions() == 1


async def test_failing_publish_does_not_kill_publishing(broker_kind):
    """Litestar channels #5008: one failed publish must not stop later ones."""
    async with pair(broker_kind) as (a, b, _, inbox_b):
        await b.subscribe("room:f")
        await settle(broker_kind)
        if broker_kind == "redis":
            real = a._redis
            a._redis = _Broken()
            assert await a.publish("room:f", b"lost") is False
            assert a.publish_failures == 1
            a._redis = real
        assert await a.publish("room:f", b"delivered")
        await inbox_b.wait_for(1)
        assert inbox_b.items[-1][1] == b"delivered"


class _Broken:
    async def publish(self, *args: object) -> int:
        raise ConnectionError("redis is down")


async def test_thousands_of_rooms_leave_no_entries_behind():
    """Litestar channels #4867: empty per-room entries must be freed (memory stays flat)."""
    async with serve_hub(settings=HubSettings(max_rooms=5000, send_limit=100000)) as served:
        token = served.auth.add("walker", "patient")
        names = [served.rooms.add(f"consultation:{i}", [("walker", "patient")]) for i in range(2000)]
        sock = await Raw.open(served.url, token)
        for name in names:
            await sock.send({"type": "join", "room": name})
        for _ in names:
            await sock.recv_type("joined", timeout=10)
        assert len(served.hub.rooms) == 2001 and served.hub.broker.subscriptions() == 2001
        for name in names:
            await sock.send({"type": "leave", "room": name})
        await sock.send({"type": "ping"})
        await sock.recv_type("pong")
        assert len(served.hub.rooms) == 1  # only the private user room
        assert served.hub.broker.subscriptions() == 1
        assert served.hub.presence.rooms == {}
        await sock.close()
        for _ in range(50):
            if not served.hub.rooms:
                break
            await asyncio.sleep(0.05)
        assert served.hub.rooms == {} and served.hub.by_user == {} and served.hub.connections == set()
        assert served.hub.broker.subscriptions() == 0


async def test_two_hubs_over_redis_share_rooms_presence_and_order():
    need_redis()
    store = MemoryStore()  # shared storage, as PostgreSQL would be
    auth, rooms = StaticAuth(), RoomBook()
    alice, bob = auth.add("alice", "patient"), auth.add("bob", "doctor")
    rooms.add("consultation:9", [("alice", "patient"), ("bob", "doctor")])

    def hub() -> Hub:
        broker = RedisBroker(REDIS_TEST_URL)
        return Hub(
            authenticator=auth,
            policy=rooms,
            store=store,
            broker=broker,
            presence=RedisPresence(REDIS_TEST_URL, broker.worker_id, ttl=2),
            settings=HubSettings(maintenance_s=0.2, presence_sweep_s=0.5, send_limit=1000),
        )

    async with serve_hub(hub(), auth=auth, rooms=rooms) as one, serve_hub(hub(), auth=auth, rooms=rooms) as two:
        a = await Raw.open(one.url, alice)
        b = await Raw.open(two.url, bob)
        await a.send({"type": "join", "room": "consultation:9"})
        await a.recv_type("joined")
        await asyncio.sleep(0.2)
        await b.send({"type": "join", "room": "consultation:9"})
        joined = await b.recv_type("joined")
        assert {m["id"]: m["online"] for m in joined["members"]} == {"alice": True, "bob": True}
        assert (await a.recv_type("presence"))["user"]["id"] == "bob"  # across workers
        for i in range(30):
            await (a if i % 2 else b).send({"type": "send", "room": "consultation:9", "id": f"m{i}", "body": str(i)})
        got_a = [(await a.recv_type("message"))["seq"] for _ in range(30)]
        got_b = [(await b.recv_type("message"))["seq"] for _ in range(30)]
        assert got_a == got_b == list(range(1, 31))
        await a.close()
        await b.close()


async def test_a_dead_workers_users_go_offline():
    """Presence entries of a worker that stops heartbeating expire (30 s in production, 1 s here)."""
    need_redis()
    store = MemoryStore()
    auth, rooms = StaticAuth(), RoomBook()
    alice, bob = auth.add("alice", "patient"), auth.add("bob", "doctor")
    rooms.add("consultation:crash", [("alice", "patient"), ("bob", "doctor")])

    def hub(ttl: float) -> Hub:
        broker = RedisBroker(REDIS_TEST_URL)
        return Hub(
            authenticator=auth,
            policy=rooms,
            store=store,
            broker=broker,
            presence=RedisPresence(REDIS_TEST_URL, broker.worker_id, ttl=ttl),
            settings=HubSettings(maintenance_s=0.2, presence_sweep_s=0.3),
        )

    doomed = hub(ttl=1.0)
    async with (
        serve_hub(hub(ttl=1.0), auth=auth, rooms=rooms) as survivor,
        serve_hub(doomed, auth=auth, rooms=rooms) as dying,
    ):
        a = await Raw.open(survivor.url, alice)
        b = await Raw.open(dying.url, bob)
        await a.send({"type": "join", "room": "consultation:crash"})
        await a.recv_type("joined")
        await b.send({"type": "join", "room": "consultation:crash"})
        await b.recv_type("joined")
        assert (await a.recv_type("presence"))["online"] is True
        # The dying worker stops heartbeating and never says goodbye (as after SIGKILL).
        doomed._maintenance.cancel()
        doomed.presence.heartbeat = _never  # type: ignore[method-assign]
        doomed.presence.remove = _never_remove  # type: ignore[method-assign]
        doomed.broker.publish = _never_publish  # type: ignore[method-assign]
        offline = await a.recv_type("presence", timeout=10)
        assert offline["online"] is False and offline["user"]["id"] == "bob"
        await a.close()
        await b.close()


async def _never() -> None:
    return None


async def _never_remove(*args: object) -> None:
    return None


async def _never_publish(*args: object) -> bool:
    return True
