"""Bounded queues between the socket reader and the application, with their overflow policies.

- ``EventInbox`` (``async for event in client``): holds at most ``maxsize`` events; when full,
  the *oldest* event is dropped and counted (``dropped``). Events are hints (typing, presence,
  room states): the current state is always one ``join`` away, so a slow consumer loses the
  stale ones, never the reader's pace.
- ``MessageInbox`` (``async for message in room``): never drops a message. When full, the room
  stops taking messages from the socket (``full`` is True, ``overflows`` counts it); once the
  consumer has taken half, the room re-joins with ``since`` and the server replays the rest
  from its history. Memory stays bounded, other rooms and events flow on, nothing is lost.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Generic, TypeVar

__all__ = ("EventInbox", "MessageInbox")

T = TypeVar("T")


class _Inbox(Generic[T]):
    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("queue_size must be at least 1")
        self.maxsize = maxsize
        self._items: collections.deque[T] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._end: BaseException | None = None  # StopAsyncIteration, or the error that ended it

    def __len__(self) -> int:
        return len(self._items)

    @property
    def ended(self) -> bool:
        return self._end is not None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def end(self, reason: BaseException) -> None:
        """No more items: after the buffered ones, ``get`` raises ``reason``."""
        if self._end is None:
            self._end = reason
        self._wake()

    async def get(self) -> T:
        while not self._items:
            if self._end is not None:
                raise self._end
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class EventInbox(_Inbox[T]):
    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.dropped = 0

    def put(self, item: T) -> None:
        if len(self._items) >= self.maxsize:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._wake()


class MessageInbox(_Inbox[T]):
    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.overflows = 0

    @property
    def full(self) -> bool:
        return len(self._items) >= self.maxsize

    @property
    def drained(self) -> bool:
        """Half empty again: time to fetch what was left on the server."""
        return len(self._items) <= self.maxsize // 2

    def offer(self, item: T) -> bool:
        """Take ``item`` unless full (the caller then leaves it on the server and counts on replay)."""
        if len(self._items) >= self.maxsize:
            self.overflows += 1
            return False
        self._items.append(item)
        self._wake()
        return True
