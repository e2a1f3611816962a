"""The in-process broker: workers that share one ``MemoryBus`` (one process, or tests).

Same guarantees as the Redis broker: ordered per channel, never the publisher's own echo,
subscriptions effective when ``subscribe`` returns, and a failing subscriber never stops
delivery to the others or later publications.
"""

from __future__ import annotations

import inspect
import logging
import uuid

from careconnect.hub.brokers.base import BrokerHandler

log = logging.getLogger("careconnect.hub.memory_broker")


class MemoryBus:
    """What several in-process brokers share: who is subscribed to which channel."""

    def __init__(self) -> None:
        self.channels: dict[str, set[MemoryBroker]] = {}


class MemoryBroker:
    """One worker's end of a ``MemoryBus``; a bus of its own when none is given."""

    def __init__(self, bus: MemoryBus | None = None, worker_id: str | None = None) -> None:
        self.bus = bus or MemoryBus()
        self.worker_id = worker_id or uuid.uuid4().hex
        self._handler: BrokerHandler | None = None
        self._mine: set[str] = set()

    async def start(self, handler: BrokerHandler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        for channel in list(self._mine):
            await self.unsubscribe(channel)
        self._handler = None

    async def publish(self, channel: str, payload: bytes) -> bool:
        for broker in list(self.bus.channels.get(channel, ())):
            if broker is self or broker._handler is None:
                continue
            try:
                result = broker._handler(channel, payload)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a bug in one worker's handler: the others still get the frame
                log.exception("a subscriber failed to handle a frame on %s", channel)
        return True

    async def subscribe(self, channel: str) -> None:
        self.bus.channels.setdefault(channel, set()).add(self)
        self._mine.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        members = self.bus.channels.get(channel)
        if members is not None:
            members.discard(self)
            if not members:
                del self.bus.channels[channel]
        self._mine.discard(channel)

    def subscriptions(self) -> int:
        return len(self._mine)
