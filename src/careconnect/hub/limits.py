"""Per-user send limits across all of a user's connections: memory (one worker) or Redis (every worker).

The per-connection limit lives on ``Connection.allow_send``; this one counts the sum of a
user's sends on every socket (PROTOCOL.md 1.1 "Bad input": ``WS_USER_SEND_LIMIT``). Fixed
windows: the first counted send opens a window of ``window_s`` seconds for that user, and at
most ``limit`` sends are allowed in it. A limiter that cannot count raises
``LimiterUnavailable``; the hub then allows the send (fails open) and counts it in
``HubStats.user_limit_failures``, because an outage of the counter must not stop a visit's chat.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from careconnect.hub.brokers.redis import redis_client


class LimiterUnavailable(Exception):
    """The counter could not be reached; the caller decides (the hub fails open)."""


class SendLimiter(Protocol):
    """Counts sends per user.

    Guarantee: at most ``limit`` calls of ``allow(user)`` return True in each fixed window of
    ``window_s`` seconds that user's first counted send opens, summed over every caller that
    shares the limiter (every worker on one Redis); a refused call counts too. Across a window
    boundary up to twice ``limit`` may pass within ``window_s`` seconds.
    """

    limit: int
    window_s: float

    async def allow(self, user_id: str) -> bool:
        """Count one send by ``user_id``: True while within the limit. Raises ``LimiterUnavailable``."""
        ...

    async def close(self) -> None: ...


class MemorySendLimiter:
    """One process's counts: enough for one worker, as ``MemoryBroker`` is."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._windows: dict[str, tuple[float, int]] = {}  # user -> (window end, sends counted)

    async def allow(self, user_id: str) -> bool:
        now = time.monotonic()
        end, count = self._windows.get(user_id, (0.0, 0))
        if now >= end:
            if len(self._windows) > 100_000:  # drop ended windows now and then
                self._windows = {u: w for u, w in self._windows.items() if w[0] > now}
            end, count = now + self.window_s, 0
        count += 1
        self._windows[user_id] = (end, count)
        return count <= self.limit

    async def close(self) -> None:
        self._windows.clear()


# Lease up to ARGV[2] sends of the user's window at once (INCRBY; PEXPIRE when the window opens,
# or for a key somehow without a TTL): answers {sends granted, the window's milliseconds left}.
# Grants never exceed the limit in total, so leases cannot let more than ``limit`` through.
_LEASE = """
local want = tonumber(ARGV[2])
local n = redis.call('INCRBY', KEYS[1], want)
if n == want or redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local granted = math.max(0, math.min(want, tonumber(ARGV[3]) - (n - want)))
return {granted, redis.call('PTTL', KEYS[1])}
"""


class RedisSendLimiter:
    """Counts in Redis (``cc:sends:<user id>``), shared by every worker.

    A worker leases a few sends of a user's window at a time (``lease``, default a tenth of the
    limit up to 10) and spends them locally, so a send costs a Redis round trip only once per
    lease (about 100 µs of the worker's CPU each, measured); a user whose window is used up is
    refused locally until it ends. The total granted never exceeds ``limit``; a lease a worker
    does not spend before the window ends is lost, so a user spread over W workers may be
    refused up to W × (lease − 1) sends early. After a failure the limiter does not try Redis
    again for ``retry_after_s`` (each send meanwhile raises ``LimiterUnavailable`` at once), so
    a Redis outage costs the chat one timeout, not one per message.
    """

    def __init__(
        self,
        url: str,
        limit: int,
        window_s: float,
        *,
        timeout_s: float = 0.5,
        retry_after_s: float = 1.0,
        prefix: str = "cc:sends:",
        max_connections: int = 16,
        lease: int | None = None,
        cluster: bool = False,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.prefix = prefix
        self.retry_after_s = retry_after_s
        self.lease = lease if lease is not None else max(1, min(10, limit // 10))
        self.round_trips = 0
        # A bounded pool that makes a burst wait for a connection: with an unbounded one, a few
        # thousand sends at once opened a connection each until redis-py refused ("Too many
        # connections"), and the limit then failed open for every sender.
        self._redis: Any
        if cluster:  # each user's counter is one key: its own slot, a script per key
            self._redis = redis_client(
                url, True, max_connections=max_connections, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
            )
        else:
            pool = BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=timeout_s,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
            )
            self._redis = Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
        self._script: Any = self._redis.register_script(_LEASE)
        self._down_until = 0.0
        self._leases: dict[str, tuple[float, int]] = {}  # user -> (window end, sends left in hand)
        self._asking: dict[str, asyncio.Future[None]] = {}  # user -> the lease request in flight

    async def allow(self, user_id: str) -> bool:
        while True:
            now = time.monotonic()
            end, left = self._leases.get(user_id, (0.0, 0))
            if now < end:
                if left > 0:
                    self._leases[user_id] = (end, left - 1)
                    return True
                if left < 0:  # the window is used up everywhere: refused without asking Redis
                    return False
            asking = self._asking.get(user_id)
            if asking is None:
                break
            await asyncio.shield(asking)  # one lease request per user at a time; then look again
        if now < self._down_until:
            raise LimiterUnavailable("Redis was unreachable a moment ago")
        asked = self._asking[user_id] = asyncio.get_running_loop().create_future()
        try:
            self.round_trips += 1
            granted, ttl_ms = await self._script(
                keys=[self.prefix + user_id], args=[max(1, int(self.window_s * 1000)), self.lease, self.limit]
            )
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + self.retry_after_s
            raise LimiterUnavailable(f"Redis: {type(exc).__name__}") from exc
        finally:
            del self._asking[user_id]
            asked.set_result(None)
        now = time.monotonic()
        granted, end = int(granted), now + max(0, int(ttl_ms)) / 1000
        if len(self._leases) > 100_000:  # drop ended windows now and then
            self._leases = {u: w for u, w in self._leases.items() if w[0] > now}
        # Sends another caller leased for this window while we waited are ours to spend too.
        held_end, held = self._leases.get(user_id, (0.0, 0))
        in_hand = granted + (held if held > 0 and held_end > now else 0)
        if in_hand == 0:
            self._leases[user_id] = (end, -1)
            return False
        self._leases[user_id] = (end, in_hand - 1)
        return True

    async def close(self) -> None:
        await self._redis.aclose()
