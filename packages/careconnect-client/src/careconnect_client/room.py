"""``Room``: one room this client is in; its messages in seq order, each exactly once.

The reader hands every ``message`` frame to its room, which keeps the last seq it took in.
A duplicate (a replay overlapping live traffic) is dropped; a gap (a seq jump) or a full inbox
makes the room ignore messages until its next ``joined``: it re-joins with ``since`` (at once
for a gap, once the consumer has taken half of a full inbox) and the server replays the rest.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from careconnect_client.errors import Timeout
from careconnect_client.frames import Joined, Message
from careconnect_client.inbox import MessageInbox

if TYPE_CHECKING:
    from collections.abc import Sequence

    from careconnect_client.client import HubClient
    from careconnect_client.frames import Ack, Error

__all__ = ("Room",)


class Room:
    """A room handle: ``async for message in room``, ``await room.send(body)``."""

    def __init__(self, client: HubClient, name: str, queue_size: int) -> None:
        self.name = name
        self._client = client
        self.joined: Joined | None = None  # the latest ``joined`` (state, members, last_seq)
        self.last_seq = 0  # the last seq taken into the inbox: a re-join asks for what follows
        self.active = False  # wanted by the application: re-joined after every reconnect
        self.removed: Error | None = None  # the server took this client out of the room
        self.duplicates = 0
        self._inbox: MessageInbox[Message] = MessageInbox(queue_size)
        self._behind = False  # ignoring messages until the next ``joined`` (a gap, or a full inbox)
        self._refill = False  # the inbox filled up: re-join once it is half empty
        self._accept_any = False  # joined with since 0 (the last 50): the first seq is not known
        self._join_waiters: list[asyncio.Future[Joined]] = []
        self._joins_in_flight = 0  # join frames on the current socket not yet answered

    def __repr__(self) -> str:
        return f"<Room {self.name} last_seq={self.last_seq} buffered={len(self._inbox)}>"

    @property
    def buffered(self) -> int:
        """Messages received and not yet taken (at most ``queue_size``)."""
        return len(self._inbox)

    @property
    def overflows(self) -> int:
        """How often the inbox was full and the rest was left on the server for a replay."""
        return self._inbox.overflows

    # -- the application's side --------------------------------------------------------------
    def __aiter__(self) -> Room:
        return self

    async def __anext__(self) -> Message:
        if not self.active and self.joined is None and not self._inbox.ended:
            await self.join()
        message = await self._inbox.get()
        if self._refill and self._inbox.drained:
            self._refill = False
            self._client._rejoin(self)
        return message

    async def get(self, timeout: float | None = None) -> Message:
        """The next message; ``Timeout`` after ``timeout`` seconds, ``StopAsyncIteration`` once left."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except TimeoutError:
            raise Timeout(f"no message in {self.name} within {timeout}s") from None

    async def join(self, *, since: int | None = None, timeout: float | None = None) -> Joined:
        await self._client.join(self.name, since=since, timeout=timeout)
        assert self.joined is not None
        return self.joined

    async def leave(self) -> None:
        await self._client.leave(self.name)

    async def send(
        self, body: str, *, id: str | None = None, attachments: Sequence[str] = (), timeout: float | None = None
    ) -> Ack:
        return await self._client.send(self.name, body, id=id, attachments=attachments, timeout=timeout)

    async def typing(self) -> None:
        await self._client.typing(self.name)

    async def read(self, seq: int) -> None:
        await self._client.read(self.name, seq)

    async def signal(self, to: str, kind: str, data: dict[str, Any] | None = None) -> None:
        await self._client.signal(self.name, to, kind, data or {})

    # -- the reader's side --------------------------------------------------------------------
    def _on_message(self, message: Message) -> None:
        if self._behind:
            return  # the coming replay brings it
        # After a join with since 0 the replay starts wherever the server's "last 50" start.
        anywhere = self._accept_any and self.joined is not None and message.seq <= self.joined.last_seq
        if message.seq <= self.last_seq and not anywhere:
            self.duplicates += 1
            return
        if message.seq != self.last_seq + 1 and not anywhere:
            self._behind = True
            self._client._rejoin(self)
            return
        if not self._inbox.offer(message):
            self._behind = self._refill = True
            return
        self._accept_any = False
        self.last_seq = message.seq

    def _on_joined(self, joined: Joined) -> None:
        self.joined = joined
        self._joins_in_flight = max(0, self._joins_in_flight - 1)
        if joined.last_seq == 0:
            self._accept_any = False  # an empty room: the next message is seq 1
        if joined.last_seq < self.last_seq:
            self.last_seq = joined.last_seq  # the room's history was reset: follow the server
        if not self._refill:
            self._behind = False
        for waiter in self._join_waiters:
            if not waiter.done():
                waiter.set_result(joined)
        self._join_waiters.clear()

    def _fail_join(self, error: BaseException) -> bool:
        """A join of this room was refused: tell whoever waits for it (False: nobody did)."""
        waiters, self._join_waiters = self._join_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)
        return bool(waiters)

    def _end(self, reason: BaseException) -> None:
        self.active = False
        self._fail_join(reason if not isinstance(reason, StopAsyncIteration) else _left(self.name))
        self._inbox.end(reason)


def _left(name: str) -> BaseException:
    from careconnect_client.errors import Closed

    return Closed(reason=f"left {name}")
