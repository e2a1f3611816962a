"""The Redis broker: one pub/sub connection per worker, one subscription per room.

Each payload is prefixed with the publishing worker's id so a worker drops its own echoes.
``publish`` only queues: one publisher task drains the queue in order, pipelining whatever
accumulated into one round trip on one connection (ordered per channel, and no connection
per concurrent sender). A failed round trip is logged and counted (``publish_errors``), never
fatal to the publisher task: the batch goes back to the front of the queue and is retried
with backoff, so a short outage loses nothing (a retried frame may arrive twice; the hub
drops seqs it has delivered). The queue is bounded: overflowing it drops the oldest frame,
counted in ``publish_failures`` and reported through the ``on_publish_failure`` hook. When the pub/sub connection
drops, the reader reconnects with backoff and re-subscribes every channel this worker needs.
Publications marked ``recoverable`` (stored messages: they carry a seq and the store has them)
are skipped while this worker is alone on their channel: when PUBLISH reports one receiver
(our own confirmed subscription) and no other worker has said hello on that channel since the
publication left, nobody else listens, and the publication and its echo are pure cost. A
worker says hello on every channel as soon as its subscription is confirmed; a worker that
hears it publishes again at once and calls ``on_peer(channel)``, where the hub publishes the
room's last seq so the newcomer reads from the store whatever was skipped in between. A
reconnect forgets every "alone" (the hellos of that time were missed). Everything else
(events, signals, room states) is always published.

With ``cluster=True`` (Redis Cluster, Redis 7) the same design runs on sharded pub/sub:
``SSUBSCRIBE``/``SPUBLISH``, so each room's channel lives on the shard that owns its hash slot
and a publication crosses only that shard, not the whole cluster. When a primary fails, the
subscription connection to it drops; the reader reconnects (the client refreshes the slot map
and finds the promoted replica), re-subscribes, and the hub catches its rooms up from the store.

Subscribe and unsubscribe go through one lock in call order, so a room emptied and re-joined
quickly ends up subscribed; ``subscribe`` returns once Redis has confirmed the subscription,
so the hub's read of the room's last seq happens after every later publication will reach
this worker (nothing falls between the subscription and the store read).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from careconnect.hub.brokers.base import BrokerHandler

log = logging.getLogger("careconnect.hub.redis")
PREFIX = "cc:room:"
HELLO = b"\x00hello"  # a broker control payload: "I have just subscribed to this channel"


def redis_client(url: str, cluster: bool, **options: Any) -> Any:
    """A client for ``url``: one node, or (``cluster``) a Redis Cluster found from that node."""
    if cluster:
        options.pop("health_check_interval", None)  # per-node connections check themselves
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)


class RedisBroker:
    def __init__(
        self, url: str, worker_id: str | None = None, *, outbox_limit: int = 100_000, cluster: bool = False
    ) -> None:
        self.url = url
        self.cluster = cluster
        # Plain pub/sub on one node, sharded pub/sub on a cluster: the same protocol otherwise.
        self._sub, self._unsub, self._pub = (
            ("ssubscribe", "sunsubscribe", "spublish") if cluster else ("subscribe", "unsubscribe", "publish")
        )
        self._message_type, self._confirm_type = ("smessage", "ssubscribe") if cluster else ("message", "subscribe")
        self.worker_id = worker_id or uuid.uuid4().hex
        self._tag = self.worker_id.encode() + b"|"
        self._redis: Any = None  # Redis, or RedisCluster
        self._pubsub: Any = None
        self._handler: BrokerHandler | None = None
        self._channels: set[str] = set()
        self._lock = asyncio.Lock()
        self._confirmations: dict[bytes, list[asyncio.Future[None]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        # (channel key, data, the room when the reply may show we are alone there, its hello clock
        # and the connection epoch when queued)
        self._outbox: collections.deque[tuple[str, bytes, str | None, int, int]] = collections.deque()
        self._alone: set[str] = set()  # channels where our recoverable publications reach only us
        self._confirmed: set[str] = set()  # channels whose subscription Redis confirmed on this connection
        self._hellos = 0  # hellos heard: a clock for "nobody said hello here since it was queued"
        self._hello_at: dict[str, int] = {}
        self._epoch = 0  # subscription connections lost: a reply from before one proves nothing
        self.skipped = 0  # recoverable publications not sent: nobody else listened
        # Called when another worker subscribes to a channel of ours (the hub sends its last seq).
        self.on_peer: Callable[[str], None] | None = None
        self._outbox_ready = asyncio.Event()
        self._outbox_idle = asyncio.Event()  # set while nothing is queued or in flight
        self._outbox_idle.set()
        self.outbox_limit = outbox_limit
        self.publish_failures = 0  # publications lost (the queue overflowed)
        self.publish_errors = 0  # failed round trips (retried)
        self.on_publish_failure: Callable[[int], None] | None = None
        self.reconnects = 0
        self.connected = asyncio.Event()
        # Called after a reconnect: frames published while we were away were never delivered
        # to us, so the hub catches its rooms up from the message store.
        self.on_reconnect: Callable[[], Awaitable[None]] | None = None

    async def start(self, handler: BrokerHandler) -> None:
        self._handler = handler
        self._redis = redis_client(self.url, self.cluster, socket_connect_timeout=2, health_check_interval=10)
        self._reader = asyncio.create_task(self._read_forever(), name="hub-redis-reader")
        self._publisher = asyncio.create_task(self._publish_forever(), name="hub-redis-publisher")

    async def stop(self, flush_timeout: float = 2.0) -> None:
        if self._publisher is not None:
            with contextlib.suppress(TimeoutError):  # what was queued still goes out
                await asyncio.wait_for(self._outbox_idle.wait(), flush_timeout)
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._close_pubsub()
        if self._redis is not None:
            await self._redis.aclose()
        self._channels.clear()

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Queue for the publisher task; False when the broker is not running."""
        return self.publish_nowait(channel, payload)

    def publish_nowait(self, channel: str, payload: bytes, *, recoverable: bool = False) -> bool:
        """``publish`` without a coroutine: the hub calls it from a commit callback.

        ``recoverable``: the receivers can read this frame from elsewhere (a stored message), so
        it is skipped while no other worker subscribes to ``channel`` (see the module docstring).
        """
        if self._publisher is None:
            return False
        if recoverable and channel in self._alone:
            self.skipped += 1
            return True
        outbox = self._outbox
        if len(outbox) >= self.outbox_limit:
            outbox.popleft()
            self._failed(1, "the publish queue is full (Redis too slow or down)")
        # Only a publication queued after our own subscription was confirmed can show we are alone
        # (one queued earlier may reach Redis before our SUBSCRIBE, its one receiver someone else).
        learn = channel if recoverable and channel in self._confirmed else None
        outbox.append((PREFIX + channel, self._tag + payload, learn, self._hello_at.get(channel, 0), self._epoch))
        self._outbox_idle.clear()
        self._outbox_ready.set()
        return True

    def _failed(self, count: int, why: str) -> None:
        self.publish_failures += count
        log.warning("%d broker publication(s) lost: %s", count, why)
        if self.on_publish_failure is not None:
            self.on_publish_failure(count)

    async def _publish_forever(self) -> None:
        outbox = self._outbox
        backoff = 0.05
        while True:
            if not outbox:
                self._outbox_idle.set()
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            batch = [outbox.popleft() for _ in range(min(len(outbox), 1000))]
            try:
                assert self._redis is not None
                if len(batch) == 1:
                    receivers = [await getattr(self._redis, self._pub)(batch[0][0], batch[0][1])]
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for key, data, *_ in batch:
                            getattr(pipe, self._pub)(key, data)
                        receivers = await pipe.execute()
                self._learn_alone(batch, receivers)
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever went wrong, the publisher goes on
                self.publish_errors += 1
                log.warning("publishing %d frame(s) failed (%s); retrying", len(batch), type(exc).__name__)
                room = self.outbox_limit - len(outbox)
                if room < len(batch):
                    self._failed(len(batch) - room, "the publish queue is full (Redis down)")
                    batch = batch[len(batch) - room :] if room > 0 else []
                outbox.extendleft(reversed(batch))  # first in line again, in order
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    def _learn_alone(self, batch: list[tuple[str, bytes, str | None, int, int]], receivers: list[Any]) -> None:
        """One receiver for a recoverable publication queued after our subscription was confirmed,
        with no hello heard on that channel and no subscription connection lost since it was
        queued: only we listen there."""
        for (_, _, channel, hellos, epoch), count in zip(batch, receivers, strict=True):
            if (
                channel is not None
                and count == 1
                and epoch == self._epoch
                and channel in self._confirmed
                and self._hello_at.get(channel, 0) == hellos
            ):
                self._alone.add(channel)

    def _hello_heard(self, channel: str) -> None:
        """Another worker subscribed to ``channel``: publish everything there again."""
        self._hellos += 1
        self._hello_at[channel] = self._hellos
        self._alone.discard(channel)
        if self.on_peer is not None:
            self.on_peer(channel)

    async def subscribe(self, channel: str, confirm_timeout: float = 5.0) -> None:
        """Subscribe, and wait until Redis confirms (or the connection drops and will resubscribe)."""
        waiter: asyncio.Future[None] | None = None
        async with self._lock:
            self._channels.add(channel)
            if self._pubsub is not None and self.connected.is_set():
                key = (PREFIX + channel).encode()
                waiter = asyncio.get_running_loop().create_future()
                self._confirmations.setdefault(key, []).append(waiter)
                try:
                    await getattr(self._pubsub, self._sub)(PREFIX + channel)
                except (RedisError, OSError) as exc:
                    log.warning("subscribe %s failed (will resubscribe on reconnect): %s", channel, exc)
                    self._confirm(key)
        if waiter is not None:
            try:
                await asyncio.wait_for(waiter, confirm_timeout)
            except TimeoutError:
                log.warning("redis did not confirm the subscription to %s in %.0f s", channel, confirm_timeout)

    def _confirm(self, key: bytes | None = None) -> None:
        """Release the waiters of one channel's subscription (or all of them)."""
        keys = [key] if key is not None else list(self._confirmations)
        for name in keys:
            for waiter in self._confirmations.pop(name, ()):
                if not waiter.done():
                    waiter.set_result(None)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            self._alone.discard(channel)
            self._confirmed.discard(channel)
            self._hello_at.pop(channel, None)
            if self._pubsub is not None and self.connected.is_set():
                try:
                    await getattr(self._pubsub, self._unsub)(PREFIX + channel)
                except (RedisError, OSError) as exc:
                    log.warning("unsubscribe %s failed: %s", channel, exc)

    def subscriptions(self) -> int:
        return len(self._channels)

    async def _close_pubsub(self) -> None:
        self.connected.clear()
        # Hellos sent while we are away are lost to us, and a publication Redis handled meanwhile
        # did not count our subscription: until Redis confirms the subscriptions again and newer
        # publications show we are alone, we publish everything.
        self._alone.clear()
        self._confirmed.clear()
        self._epoch += 1
        self._confirm()  # the reconnect resubscribes every channel and catches rooms up
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
                    if self.cluster:
                        await self._redis.initialize()  # the slot map, again after a failover
                    self._pubsub = self._redis.pubsub()
                    subscribe = getattr(self._pubsub, self._sub)
                    # A channel every worker keeps, so the connection exists even with no rooms.
                    await subscribe(PREFIX + "__worker__:" + self.worker_id)
                    if self._channels:
                        await subscribe(*(PREFIX + c for c in self._channels))
                    self.connected.set()
                backoff = 0.1
                if self.reconnects and self.on_reconnect is not None:
                    await self.on_reconnect()
                await self._pump()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis errors, and what a dying connection raises
                # (a cluster node killed mid-write can surface as uvloop's RuntimeError): reconnect.
                log.warning("redis broker connection lost (%s); reconnecting", type(exc).__name__)
            await self._close_pubsub()
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def _subscribed(self, name: str | bytes) -> None:
        """Redis confirmed a subscription: release its waiters and say hello there."""
        key = name if isinstance(name, bytes) else name.encode()
        if self._confirmations:
            self._confirm(key)
        channel = key.decode()[len(PREFIX) :]
        if channel in self._channels:
            self._confirmed.add(channel)
            self.publish_nowait(channel, HELLO)

    async def _pump(self) -> None:
        skip = len(PREFIX)
        tag = self._tag
        read = self._pubsub.get_sharded_message if self.cluster else self._pubsub.get_message
        message_type, confirm_type = self._message_type, self._confirm_type
        while True:
            message = await read(timeout=1.0)
            if message is None:
                continue
            if message.get("type") != message_type:
                if message.get("type") == confirm_type:
                    self._subscribed(message["channel"])
                continue
            data: bytes = message["data"]
            if data.startswith(tag):
                continue  # our own echo
            _, _, payload = data.partition(b"|")
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            if payload == HELLO:
                self._hello_heard(channel[skip:])
                continue
            handler = self._handler
            if handler is None:
                continue
            try:
                result = handler(channel[skip:], payload)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # one bad frame must not stop the reader (logged)
                log.exception("hub failed to handle a broker frame on %s", channel)
