"""Test helpers for code that drives ``careconnect_client.HubClient``."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from careconnect_client import HubClient, Message, Room

E = TypeVar("E")


async def next_of(client: HubClient, kind: type[E], timeout: float = 10.0) -> E:
    """The next event of ``kind``; the events before it are read past (this test ignores them)."""
    async with asyncio.timeout(timeout):
        async for event in client:
            if isinstance(event, kind):
                return event
    raise AssertionError(f"the client ended before a {kind.__name__}")


class Collected:
    """Every message of a room, taken in by a background task (``messages`` grows as they come)."""

    def __init__(self, room: Room) -> None:
        self.messages: list[Message] = []
        self.task = asyncio.get_running_loop().create_task(self._take(room))

    async def _take(self, room: Room) -> None:
        async for message in room:
            self.messages.append(message)

    async def until(self, count: int, timeout: float = 30.0) -> list[Message]:
        """Wait for ``count`` messages (fails with what came if they do not)."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.messages) < count:  # noqa: ASYNC110 - the collector appends
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(
                f"{len(self.messages)} of {count} messages: {[m.seq for m in self.messages]}"
            ) from None
        return self.messages

    def stop(self) -> None:
        self.task.cancel()
