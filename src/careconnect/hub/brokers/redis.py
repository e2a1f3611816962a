"""The Redis broker: one pub/sub connection per worker, one subscription per room.

Each payload is prefixed with the publishing worker's id so a worker drops its own echoes.
A failed publish is counted and reported (returns False), never fatal; when the connection
drops, the reader reconnects with backoff and re-subscribes every channel this worker needs.
Subscribe and unsubscribe go through one lock in call order, so a room emptied and re-joined
quickly ends up subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from careconnect.hub.brokers.base import BrokerHandler

log = logging.getLogger("careconnect.hub.redis")
PREFIX = "cc:room:"


class RedisBroker:
    def __init__(self, url: str, worker_id: str | None = None) -> None:
        self.url = url
        self.worker_id = worker_id or uuid.uuid4().hex
        self._tag = self.worker_id.encode() + b"|"
        self._redis: Redis | None = None
        self._pubsub: Any = None
        self._handler: BrokerHandler | None = None
        self._channels: set[str] = set()
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self.publish_failures = 0
        self.reconnects = 0
        self.connected = asyncio.Event()
        # Called after a reconnect: frames published while we were away were never delivered
        # to us, so the hub catches its rooms up from the message store.
        self.on_reconnect: Callable[[], Awaitable[None]] | None = None

    async def start(self, handler: BrokerHandler) -> None:
        self._handler = handler
        self._redis = Redis.from_url(self.url, socket_connect_timeout=2, health_check_interval=10)
        self._reader = asyncio.create_task(self._read_forever(), name="hub-redis-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._close_pubsub()
        if self._redis is not None:
            await self._redis.aclose()
        self._channels.clear()

    async def publish(self, channel: str, payload: bytes) -> bool:
        assert self._redis is not None
        try:
            await self._redis.publish(PREFIX + channel, self._tag + payload)
            return True
        except (RedisError, OSError) as exc:
            self.publish_failures += 1
            log.warning("publish to %s failed: %s", channel, type(exc).__name__)
            return False

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.add(channel)
            if self._pubsub is not None and self.connected.is_set():
                try:
                    await self._pubsub.subscribe(PREFIX + channel)
                except (RedisError, OSError) as exc:
                    log.warning("subscribe %s failed (will resubscribe on reconnect): %s", channel, exc)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            if self._pubsub is not None and self.connected.is_set():
                try:
                    await self._pubsub.unsubscribe(PREFIX + channel)
                except (RedisError, OSError) as exc:
                    log.warning("unsubscribe %s failed: %s", channel, exc)

    def subscriptions(self) -> int:
        return len(self._channels)

    async def _close_pubsub(self) -> None:
        self.connected.clear()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None

    async def _read_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                assert self._redis is not None
                async with self._lock:
                    self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                    # A channel every worker keeps, so the connection exists even with no rooms.
                    await self._pubsub.subscribe(PREFIX + "__worker__:" + self.worker_id)
                    if self._channels:
                        await self._pubsub.subscribe(*(PREFIX + c for c in self._channels))
                    self.connected.set()
                backoff = 0.1
                if self.reconnects and self.on_reconnect is not None:
                    await self.on_reconnect()
                await self._pump()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("redis broker connection lost (%s); reconnecting", type(exc).__name__)
            await self._close_pubsub()
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _pump(self) -> None:
        skip = len(PREFIX)
        tag = self._tag
        while True:
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            data: bytes = message["data"]
            if data.startswith(tag):
                continue  # our own echo
            _, _, payload = data.partition(b"|")
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            handler = self._handler
            if handler is None:
                continue
            try:
                result = handler(channel[skip:], payload)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - one bad frame must not stop the reader
                log.exception("hub failed to handle a broker frame on %s", channel)
