"""Per-user send limits across all of a user's connections: memory (one worker) or Redis (every worker).

The per-connection limit lives on ``Connection.allow_send``; this one counts the sum of a
user's sends on every socket (PROTOCOL.md 1.1 "Bad input": ``WS_USER_SEND_LIMIT``). Fixed
windows: the first counted send opens a window of ``window_s`` seconds for that user, and at
most ``limit`` sends are allowed in it. A limiter that cannot count raises
``LimiterUnavailable``; the hub then allows the send (fails open) and counts it in
``HubStats.user_limit_failures``, because an outage of the counter must not stop a visit's chat.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError


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


# INCR and, on the window's first send (or a key somehow without a TTL), PEXPIRE: atomic in Redis.
_INCR_EXPIRE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
"""


class RedisSendLimiter:
    """Counts in Redis (``cc:sends:<user id>``), shared by every worker.

    One round trip per send. After a failure the limiter does not try Redis again for
    ``retry_after_s`` (each send meanwhile raises ``LimiterUnavailable`` at once), so a Redis
    outage costs the chat one timeout, not one per message.
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
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.prefix = prefix
        self.retry_after_s = retry_after_s
        # A bounded pool that makes a burst wait for a connection: with an unbounded one, a few
        # thousand sends at once opened a connection each until redis-py refused ("Too many
        # connections"), and the limit then failed open for every sender.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
        self._redis = Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
        self._script: Any = self._redis.register_script(_INCR_EXPIRE)
        self._down_until = 0.0

    async def allow(self, user_id: str) -> bool:
        if time.monotonic() < self._down_until:
            raise LimiterUnavailable("Redis was unreachable a moment ago")
        try:
            count = await self._script(keys=[self.prefix + user_id], args=[max(1, int(self.window_s * 1000))])
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + self.retry_after_s
            raise LimiterUnavailable(f"Redis: {type(exc).__name__}") from exc
        return int(count) <= self.limit

    async def close(self) -> None:
        await self._redis.aclose()
