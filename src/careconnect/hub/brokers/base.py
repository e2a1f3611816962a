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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

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
