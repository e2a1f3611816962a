"""The broker interface: moving bytes between the workers that host a room.

Brokers move bytes only; the hub encodes and decodes frames. Guarantees:
- ordered per channel from one publisher;
- best effort: a failed publication is retried in order while the broker's bounded queue
  lasts, so a frame may arrive twice (the hub drops seqs it has delivered) and a long outage
  may lose frames; every loss is counted (``publish`` returns False, or the broker's failure
  hook fires), never silent. Stored messages carry a seq, so the hub detects a gap and fills
  it from the message store, and catches every room up after a reconnect: nothing stored is
  lost;
- a subscription is live when ``subscribe`` returns (what is published afterwards arrives);
- a worker receives only channels it subscribed to, and never its own publications (each
  worker has an id and drops its own echoes);
- one failed publication or one failing handler never stops later ones.

A broker may have optional abilities, each its own small ``Protocol`` below (``runtime_checkable``);
the hub checks them once, when it starts, and never probes at each call. ``RedisBroker`` has all
four; ``MemoryBroker`` none (in one process nothing is lost, so nothing needs catching up).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

BrokerHandler = Callable[[str, bytes], Awaitable[None] | None]


class Broker(Protocol):
    worker_id: str

    async def start(self, handler: BrokerHandler) -> None:
        """Begin delivering other workers' frames to ``handler(channel, payload)``."""
        ...

    async def stop(self) -> None:
        """Flush what is queued (briefly), then release every subscription and connection."""
        ...

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Send to every other worker subscribed to ``channel``; False if it cannot be sent."""
        ...

    async def subscribe(self, channel: str) -> None:
        """Subscribe this worker (once per channel, however many local members)."""
        ...

    async def unsubscribe(self, channel: str) -> None:
        """Drop the subscription and every per-channel entry it held."""
        ...

    def subscriptions(self) -> int:
        """How many channels this worker is subscribed to (for tests and metrics)."""
        ...


@runtime_checkable
class PublishesNowait(Protocol):
    """Publishing without an await, so a commit batch fans out without a task per message."""

    def publish_nowait(self, channel: str, payload: bytes, *, recoverable: bool = False) -> bool:
        """Queue ``payload`` for ``channel`` in order with every other publication; False (counted
        by the caller) when the bounded queue is full. ``recoverable``: a stored message the hub
        can read back from the store, which the broker may skip while no other worker listens,
        on condition that it calls ``on_peer`` when one starts to."""
        ...


@runtime_checkable
class NotifiesReconnect(Protocol):
    """The broker lost its subscriptions and got them back: frames published meanwhile are lost."""

    on_reconnect: Callable[[], Awaitable[None]] | None
    """Awaited once per reconnect, after every subscription is live again and before any frame
    that arrives on them is handled; the hub reads every room's missed messages from the store."""


@runtime_checkable
class NotifiesPeer(Protocol):
    """Another worker subscribed to a channel (with ``PublishesNowait``'s skipped publications)."""

    on_peer: Callable[[str], None] | None
    """Called with the channel as soon as another worker says it subscribed; after it, every
    recoverable publication on the channel is published again until the broker learns anew that
    no other worker listens."""


@runtime_checkable
class NotifiesPublishFailure(Protocol):
    """Publications lost after ``publish`` (or ``publish_nowait``) said they were queued."""

    on_publish_failure: Callable[[int], None] | None
    """Called with how many queued publications were given up (a long outage, a full queue), so
    the hub counts every loss; never for a publication whose ``publish`` returned False."""
