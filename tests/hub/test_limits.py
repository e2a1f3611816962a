"""Per-user send limits across connections (PROTOCOL.md 1.1 "Bad input"), memory and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from careconnect.hub import (
    Hub,
    HubSettings,
    LimiterUnavailable,
    MemoryBroker,
    MemoryPresence,
    MemorySendLimiter,
    MemoryStore,
    RedisSendLimiter,
    SendLimiter,
)
from tests.hub.harness import Raw, RoomBook, StaticAuth, serve_hub

ROOM = "consultation:limits"


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> SendLimiter:
    if request.param == "memory":
        made: SendLimiter = MemorySendLimiter(5, 10.0)
    else:
        url = request.getfixturevalue("redis_url")
        made = RedisSendLimiter(url, 5, 10.0, prefix=f"test-sends-{uuid.uuid4().hex[:8]}:")
    yield made
    await made.close()


async def test_the_limit_holds_for_concurrent_callers(limiter):
    answers = await asyncio.gather(*(limiter.allow("alice") for _ in range(12)))
    assert answers.count(True) == 5
    assert await limiter.allow("bob")  # someone else's count is their own


async def test_a_burst_of_sends_waits_for_the_pool_instead_of_failing_open(redis_url):
    """3,000 sends at once (a clinic's worth in one tick): exactly the limit allowed, none unchecked."""
    burst = RedisSendLimiter(redis_url, 40, 10.0, prefix=f"test-sends-{uuid.uuid4().hex[:8]}:", timeout_s=5)
    try:
        answers = await asyncio.gather(*(burst.allow(f"user-{i % 50}") for i in range(3000)))
    finally:
        await burst.close()
    assert answers.count(True) == 50 * 40
    # One lease request per user at a time: 10 leases and one refusal each, not a trip per send.
    assert burst.round_trips <= 50 * (40 // burst.lease + 1)


async def test_leases_spend_sends_locally_and_never_exceed_the_limit_across_workers(redis_url):
    """Two workers' limiters on one Redis: a round trip per lease, not per send; the total stays the limit."""
    prefix = f"test-sends-{uuid.uuid4().hex[:8]}:"
    one, two = (RedisSendLimiter(redis_url, 60, 10.0, prefix=prefix) for _ in range(2))
    try:
        assert one.lease == 6
        answers = [await (one if i % 2 else two).allow("carol") for i in range(100)]
        assert answers.count(True) == 60 and answers[:60] == [True] * 60
        assert one.round_trips + two.round_trips <= 60 // 6 + 2 + 2  # the leases, then one refusal each
        assert not await one.allow("carol") and not await two.allow("carol")
    finally:
        await one.close()
        await two.close()


async def test_a_new_window_allows_again():
    limiter = MemorySendLimiter(2, 0.2)
    assert [await limiter.allow("a") for _ in range(3)] == [True, True, False]
    await asyncio.sleep(0.25)
    assert await limiter.allow("a")


async def test_two_redis_limiters_share_the_count(redis_url):
    """Two workers' limiters on one Redis count one user's sends together."""
    prefix = f"test-sends-{uuid.uuid4().hex[:8]}:"
    one = RedisSendLimiter(redis_url, 6, 10.0, prefix=prefix)
    two = RedisSendLimiter(redis_url, 6, 10.0, prefix=prefix)
    try:
        answers = await asyncio.gather(*(limiter.allow("alice") for limiter in [one, two] * 6))
        assert answers.count(True) == 6
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_redis_raises_at_once_after_the_first_failure():
    down = RedisSendLimiter("redis://127.0.0.1:1/0", 5, 10.0, timeout_s=0.2, retry_after_s=30)
    try:
        with pytest.raises(LimiterUnavailable):
            await down.allow("alice")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(LimiterUnavailable):
            await down.allow("alice")
        assert loop.time() - started < 0.05  # no second timeout while it is known to be down
    finally:
        await down.close()


def _clinic(rooms: RoomBook, auth: StaticAuth) -> tuple[list[str], str]:
    alice = [auth.add("alice") for _ in range(10)]  # ten sockets (tabs, devices) of one user
    bob = auth.add("bob", "doctor")
    rooms.add(ROOM, [("alice", "patient"), ("bob", "doctor")])
    return alice, bob


async def _send_many(sock: Raw, count: int, tag: str) -> Counter[str]:
    """Send ``count`` messages, then read one answer (ack or error) for each."""
    for i in range(count):
        await sock.send({"type": "send", "room": ROOM, "id": f"{tag}-{i}", "body": "hello"})
    answers: Counter[str] = Counter()
    while sum(answers.values()) < count:
        frame = await sock.recv(10)
        if frame["type"] == "ack":
            answers["ack"] += 1
        elif frame["type"] == "error":
            assert frame["ref"].startswith(tag), frame
            answers[frame["code"]] += 1
    return answers


async def _joined(url: str, token: str) -> Raw:
    sock = await Raw.open(url, token)
    await sock.send({"type": "join", "room": ROOM})
    await sock.recv_type("joined")
    return sock


async def test_ten_sockets_of_one_user_share_the_user_limit():
    """Each socket within its own 20 per 10 s; together at most 60 acked (today: 200)."""
    auth, rooms = StaticAuth(), RoomBook()
    settings = HubSettings(send_limit=20, user_send_limit=60, send_window_s=10.0)
    async with serve_hub(auth=auth, rooms=rooms, settings=settings) as served:
        alice, bob = _clinic(rooms, auth)
        sockets = [await _joined(served.url, token) for token in alice]
        totals = Counter[str]()
        for answers in await asyncio.gather(*(_send_many(s, 20, f"a{n}") for n, s in enumerate(sockets))):
            totals.update(answers)
        assert totals["ack"] == 60 and totals["rate_limited"] == 140, totals
        # Not one socket was closed: the 4429 rule stays per connection.
        for sock in sockets:
            await sock.send({"type": "ping"})
            assert (await sock.recv_type("pong")) == {"type": "pong"}
        # Another user is unaffected, and what was refused was never stored.
        doctor = await _joined(served.url, bob)
        assert (await _send_many(doctor, 20, "b")) == Counter(ack=20)
        assert await served.hub.store.last_seq(ROOM) == 80
        assert served.hub.stats.user_limited == 140
        for sock in [*sockets, doctor]:
            await sock.close()


async def test_the_user_limit_fails_open_when_its_counter_is_down():
    """Redis down: sends still work, and each unchecked send is counted."""
    auth, rooms = StaticAuth(), RoomBook()
    settings = HubSettings(send_limit=20, user_send_limit=3)
    down = RedisSendLimiter("redis://127.0.0.1:1/0", 3, 10.0, timeout_s=0.2)
    hub = Hub(
        authenticator=auth,
        policy=rooms,
        store=MemoryStore(),
        broker=MemoryBroker(),
        presence=MemoryPresence(),
        settings=settings,
        send_limiter=down,
    )
    async with serve_hub(hub) as served:
        alice, _ = _clinic(rooms, auth)
        sock = await _joined(served.url, alice[0])
        assert (await _send_many(sock, 10, "a")) == Counter(ack=10)
        assert hub.stats.user_limit_failures == 10
        await sock.close()
