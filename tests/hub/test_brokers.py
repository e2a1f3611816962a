"""One broker contract, run against the in-process broker and Redis; plus hub-level guarantees."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from careconnect.hub import Hub, HubSettings, MemoryBroker, MemoryBus, MemoryStore, RedisPresence
from careconnect.hub.brokers.redis import RedisBroker
from tests.hub.conftest import REDIS_URL, require_redis
from tests.hub.harness import Raw, RoomBook, StaticAuth, serve_hub


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
        require_redis()
        a, b = RedisBroker(REDIS_URL), RedisBroker(REDIS_URL)
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
    """Litestar channels #5008: a failed publish must not stop the publisher; here it is even retried."""
    async with pair(broker_kind) as (a, b, _, inbox_b):
        await b.subscribe("room:f")
        expected = [b"delivered"]
        if broker_kind == "redis":
            from redis.asyncio import Redis

            real, a._redis = a._redis, Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
            assert await a.publish("room:f", b"during the outage")  # queued; Redis is unreachable
            async with asyncio.timeout(5):
                while a.publish_errors < 2:  # noqa: ASYNC110 - failed, retried, failed again: the task lives on
                    await asyncio.sleep(0.05)
            await a._redis.aclose()
            a._redis = real
            expected.insert(0, b"during the outage")  # retried in order once Redis is back
        assert await a.publish("room:f", b"delivered")
        await inbox_b.wait_for(len(expected))
        assert [p for _, p in inbox_b.items] == expected
        if broker_kind == "redis":
            assert a.publish_failures == 0  # nothing was lost


async def test_a_full_publish_queue_counts_every_loss():
    """No silent drops: with Redis unreachable, overflowing the bounded queue is counted."""
    require_redis()
    from redis.asyncio import Redis

    broker = RedisBroker(REDIS_URL, outbox_limit=5)
    lost: list[int] = []
    broker.on_publish_failure = lost.append
    await broker.start(Inbox())
    try:
        real, broker._redis = broker._redis, Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
        for i in range(12):
            assert await broker.publish("room:q", str(i).encode())
        assert sum(lost) == broker.publish_failures >= 7  # 12 queued, at most 5 kept
        await broker._redis.aclose()
        broker._redis = real
    finally:
        await broker.stop()


async def test_a_subscription_is_live_when_subscribe_returns(broker_kind):
    """No settling time: what is published after ``subscribe`` returns is delivered."""
    async with pair(broker_kind) as (a, b, _, inbox_b):
        for i in range(20):
            await b.subscribe(f"room:live{i}")
            await a.publish(f"room:live{i}", b"first")
        await inbox_b.wait_for(20)
        assert sorted(channel for channel, _ in inbox_b.items) == sorted(f"room:live{i}" for i in range(20))


async def test_a_failing_subscriber_does_not_stop_delivery(broker_kind):
    async with pair(broker_kind) as (a, b, _, inbox_b):
        calls = []

        async def flaky(channel: str, payload: bytes) -> None:
            calls.append(payload)
            if payload == b"poison":
                raise ValueError("a bug in the handler")
            await inbox_b(channel, payload)

        b._handler = flaky
        await b.subscribe("room:p")
        await a.publish("room:p", b"poison")
        assert await a.publish("room:p", b"after")
        await inbox_b.wait_for(1)
        assert [p for _, p in inbox_b.items] == [b"after"]
        assert calls == [b"poison", b"after"]


async def test_thousands_of_rooms_leave_no_entries_behind(broker_kind):
    """Litestar channels #4867: empty per-room entries must be freed (memory stays flat)."""
    broker = MemoryBroker() if broker_kind == "memory" else _redis_broker()
    settings = HubSettings(max_rooms=5000, send_limit=100000)
    async with serve_hub(settings=settings, broker=broker) as served:
        if broker_kind == "redis":
            await asyncio.wait_for(broker.connected.wait(), 5)
        token = served.auth.add("walker", "patient")
        run = uuid.uuid4().hex[:8]  # Redis pub/sub is server-wide: names of our own
        names = [served.rooms.add(f"consultation:{run}-{i}", [("walker", "patient")]) for i in range(2000)]
        sock = await Raw.open(served.url, token)
        for name in names:
            await sock.send({"type": "join", "room": name})
        for _ in names:
            await sock.recv_type("joined", timeout=10)
        assert len(served.hub.rooms) == 2001 and served.hub.broker.subscriptions() == 2001
        if broker_kind == "redis":
            assert set(await _subscribers(names, 1)) == {1}  # one subscription per room per worker
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
        if broker_kind == "redis":
            assert set(await _subscribers(names, 0)) == {0}  # Redis itself holds nothing either


def _redis_broker() -> RedisBroker:
    require_redis()
    return RedisBroker(REDIS_URL)


async def _subscribers(names: list[str], expected: int) -> list[int]:
    """Redis's own subscriber count per room channel, polled until it settles at ``expected``."""
    from redis.asyncio import Redis

    async with Redis.from_url(REDIS_URL) as probe:
        for _ in range(100):
            reply = await probe.execute_command("PUBSUB", "NUMSUB", *(f"cc:room:{n}" for n in names))
            counts = [int(n) for n in reply[1::2]]
            if all(c == expected for c in counts):
                break
            await asyncio.sleep(0.05)
    return counts


@contextlib.asynccontextmanager
async def two_redis_workers(
    name: str, *, presence_ttl: float = 20.0, settings: HubSettings | None = None
) -> AsyncIterator[tuple[Any, Any, str, str, str]]:
    """Two served hubs over Redis sharing one store (as PostgreSQL would), and a consultation
    room of alice (patient) and bob (doctor): yields (one, two, alice's token, bob's, room)."""
    require_redis()
    store = MemoryStore()
    auth, rooms = StaticAuth(), RoomBook()
    alice, bob = auth.add("alice", "patient"), auth.add("bob", "doctor")
    room = f"consultation:{name}-{uuid.uuid4().hex[:8]}"
    rooms.add(room, [("alice", "patient"), ("bob", "doctor")])

    def hub() -> Hub:
        broker = RedisBroker(REDIS_URL)
        return Hub(
            authenticator=auth,
            policy=rooms,
            store=store,
            broker=broker,
            presence=RedisPresence(REDIS_URL, broker.worker_id, ttl=presence_ttl),
            settings=settings or HubSettings(send_limit=1000),
        )

    async with serve_hub(hub(), auth=auth, rooms=rooms) as one, serve_hub(hub(), auth=auth, rooms=rooms) as two:
        yield one, two, alice, bob, room


async def test_two_hubs_over_redis_share_rooms_presence_and_order():
    settings = HubSettings(maintenance_s=0.2, presence_sweep_s=0.5, send_limit=1000)
    async with two_redis_workers("share", presence_ttl=2, settings=settings) as (one, two, alice, bob, room):
        a = await Raw.open(one.url, alice)
        b = await Raw.open(two.url, bob)
        await a.send({"type": "join", "room": room})
        await a.recv_type("joined")
        await asyncio.sleep(0.2)
        await b.send({"type": "join", "room": room})
        joined = await b.recv_type("joined")
        assert {m["id"]: m["online"] for m in joined["members"]} == {"alice": True, "bob": True}
        assert (await a.recv_type("presence"))["user"]["id"] == "bob"  # across workers
        for i in range(30):
            await (a if i % 2 else b).send({"type": "send", "room": room, "id": f"m{i}", "body": str(i)})
        got_a = [(await a.recv_type("message"))["seq"] for _ in range(30)]
        got_b = [(await b.recv_type("message"))["seq"] for _ in range(30)]
        assert got_a == got_b == list(range(1, 31))
        await a.close()
        await b.close()


async def test_a_dead_workers_users_go_offline():
    """Presence entries of a worker that stops heartbeating expire (30 s in production, 1 s here)."""
    settings = HubSettings(maintenance_s=0.2, presence_sweep_s=0.3)
    async with two_redis_workers("crash", presence_ttl=1.0, settings=settings) as (survivor, dying, alice, bob, room):
        doomed = dying.hub
        a = await Raw.open(survivor.url, alice)
        b = await Raw.open(dying.url, bob)
        await a.send({"type": "join", "room": room})
        await a.recv_type("joined")
        await b.send({"type": "join", "room": room})
        await b.recv_type("joined")
        assert (await a.recv_type("presence"))["online"] is True
        # The dying worker stops heartbeating and never says goodbye (as after SIGKILL).
        await doomed.upkeep.stop()
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


async def test_rooms_emptied_and_rejoined_quickly_across_workers_lose_no_live_messages():
    """Litestar channels #4894 at hub level: join/leave churn must end with a live subscription."""
    async with two_redis_workers("churn") as (one, two, alice, bob, room):
        a = await Raw.open(one.url, alice)
        await a.send({"type": "join", "room": room})
        await a.recv_type("joined")
        churners = [await Raw.open(two.url, bob) for _ in range(3)]
        for _ in range(30):
            for sock in churners:
                await sock.send({"type": "join", "room": room})
                await sock.send({"type": "leave", "room": room})
        for sock in churners:
            await sock.send({"type": "join", "room": room})
        for sock in churners:
            await sock.send({"type": "ping"})
            await sock.recv_type("pong", timeout=10)  # every join/leave above is processed
        assert two.hub.broker.subscriptions() == 2  # user:bob and the room
        for i in range(10):
            await a.send({"type": "send", "room": room, "id": f"live-{i}", "body": str(i)})
        for sock in churners:
            seqs = []
            async with asyncio.timeout(10):
                while len(seqs) < 10:
                    frame = await sock.recv()
                    if frame.get("type") == "message" and frame["id"].startswith("live-"):
                        seqs.append(frame["seq"])
            assert seqs == list(range(1, 11))
        for sock in [a, *churners]:
            await sock.close()


async def test_redis_presence_remove_racing_a_heartbeat_leaves_no_ghost():
    """A heartbeat in flight must not bring back an entry a leave just removed.

    With thousands of rooms the heartbeat's pipeline is still streaming when the leave's HDEL
    arrives on another connection; without the presence lock the user would show as online
    for another ``ttl`` (18 of 20 rounds did, when the lock was taken out).
    """
    require_redis()
    presence = RedisPresence(REDIS_URL, worker_id=uuid.uuid4().hex)
    run = uuid.uuid4().hex[:8]
    for i in range(3000):
        presence.mine[f"consultation:filler-{run}-{i}"] = {f"bob|{presence.worker_id}|{i}"}
    room = f"consultation:ghost-{run}"
    try:
        for i in range(20):
            await presence.add(room, "alice", f"c{i}")
            await asyncio.gather(presence.heartbeat(), presence.remove(room, "alice", f"c{i}"))
            assert await presence.online(room) == set()
        await presence.add(room, "alice", "last")
        assert (await presence.online_many([room, room + "-none"])) == {room: {"alice"}, room + "-none": set()}
    finally:
        await presence.close()


async def _until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polling another object's state, bounded by the timeout
            await asyncio.sleep(0.01)


async def test_a_worker_alone_on_a_channel_skips_recoverable_publications_until_another_subscribes():
    async with pair("redis") as (a, b, _, inbox_b):
        channel = f"alone-{uuid.uuid4().hex[:8]}"
        peers: list[str] = []
        a.on_peer = peers.append
        await a.subscribe(channel)
        await _until(lambda: channel in a._confirmed)
        assert a.publish_nowait(channel, b"m|1|one", recoverable=True)  # PUBLISH says: one receiver, us
        await _until(lambda: channel in a._alone)
        assert a.publish_nowait(channel, b"m|2|two", recoverable=True)
        assert a.skipped == 1
        assert a.publish_nowait(channel, b"e||an event")  # not recoverable: always sent
        assert a.skipped == 1
        await asyncio.wait_for(a._outbox_idle.wait(), 5)  # sent before b subscribes
        await b.subscribe(channel)  # b says hello; a publishes again and tells the hub
        await _until(lambda: peers == [channel])
        assert channel not in a._alone
        assert a.publish_nowait(channel, b"m|3|three", recoverable=True)
        await inbox_b.wait_for(1)
        assert inbox_b.items == [(channel, b"m|3|three")]  # the hub reads 2 from the store (next test)
        assert a.skipped == 1


async def test_a_subscription_not_yet_confirmed_never_counts_as_alone():
    async with pair("redis") as (a, _, _, _):
        channel = f"early-{uuid.uuid4().hex[:8]}"
        a._channels.add(channel)  # as if SUBSCRIBE were still on its way
        a.publish_nowait(channel, b"m|1|x", recoverable=True)
        await asyncio.sleep(0.2)
        assert channel not in a._alone and a.skipped == 0


async def test_a_reply_from_before_a_lost_subscription_connection_never_counts_as_alone():
    async with pair("redis") as (a, _, _, _):
        channel = f"epoch-{uuid.uuid4().hex[:8]}"
        await a.subscribe(channel)
        await _until(lambda: channel in a._confirmed)
        a.publish_nowait(channel, b"m|1|x", recoverable=True)
        a._epoch += 1  # the subscription connection dropped (and came back) before the reply
        await asyncio.wait_for(a._outbox_idle.wait(), 5)
        await asyncio.sleep(0.05)
        assert channel not in a._alone
        a.publish_nowait(channel, b"m|2|y", recoverable=True)  # a reply from this epoch does count
        await _until(lambda: channel in a._alone)


async def test_messages_a_lone_worker_skipped_reach_a_worker_that_joins_the_room():
    """Hub level: what a worker alone in a room did not publish, a newcomer reads from the store."""
    async with two_redis_workers("alone") as (one, two, alice, bob, room):
        a = await Raw.open(one.url, alice)
        await a.send({"type": "join", "room": room})
        await a.recv_type("joined")
        for i in range(1, 6):  # nobody else listens: after the first replies, publishing stops
            await a.send({"type": "send", "room": room, "id": f"solo-{i}", "body": str(i)})
            assert (await a.recv_type("message"))["seq"] == i
        broker_one = one.hub.broker
        assert broker_one.skipped >= 1 and room in broker_one._alone
        b = await Raw.open(two.url, bob)
        await b.send({"type": "join", "room": room, "since": 5})
        assert (await b.recv_type("joined"))["last_seq"] == 5
        await _until(lambda: room not in broker_one._alone)  # worker two's hello arrived
        # The race the catch-up covers: worker one still believes it is alone (the hello not yet
        # heard) and skips a message that worker two's member must get.
        broker_one._alone.add(room)
        skipped = broker_one.skipped
        await a.send({"type": "send", "room": room, "id": "in-the-gap", "body": "6"})
        assert (await a.recv_type("message"))["seq"] == 6
        assert broker_one.skipped == skipped + 1
        one.hub._peer_subscribed(room)  # what hearing the hello does
        got = await b.recv_type("message", timeout=5)
        assert (got["seq"], got["id"]) == (6, "in-the-gap")
        broker_one._alone.discard(room)
        await a.send({"type": "send", "room": room, "id": "live", "body": "7"})
        got = await b.recv_type("message", timeout=5)
        assert (got["seq"], got["id"]) == (7, "live")  # nothing twice, in order
        await a.close()
        await b.close()


def test_each_broker_declares_its_optional_abilities() -> None:
    """The hub wires a broker's hooks by its declared abilities (brokers/base.py), checked once."""
    from careconnect.hub.brokers import NotifiesPeer, NotifiesPublishFailure, NotifiesReconnect, PublishesNowait

    abilities = (NotifiesPeer, NotifiesPublishFailure, NotifiesReconnect, PublishesNowait)
    redis = RedisBroker("redis://127.0.0.1:1/0")
    assert all(isinstance(redis, ability) for ability in abilities)
    assert not any(isinstance(MemoryBroker(), ability) for ability in abilities)
