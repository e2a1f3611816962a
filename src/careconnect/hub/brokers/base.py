"""The broker interface: moving bytes between the workers that host a room.

Guarantees: ordered per channel from one publisher; at most once (a broker outage may drop
frames; the hub detects the gap by seq and fills it from the message store, so no stored
message is lost). A worker receives only channels it subscribed to, and never its own
publications (each worker has an id and drops its own echoes).
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

    async def stop(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Send to every other worker subscribed to ``channel``; False if the broker is down."""
        ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    def subscriptions(self) -> int:
        """How many channels this worker is subscribed to (for tests and metrics)."""
        ...
