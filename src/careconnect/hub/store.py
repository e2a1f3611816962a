"""The message store interface, an in-memory implementation, and the group-commit writer.

Guarantees a ``MessageStore`` must give:
- ``append_batch`` stores every new message and assigns its ``seq`` in the same transaction:
  per room, seqs start at 1 and have no gaps; when it returns, the batch is durable.
- A message whose (sender, room, client id) is already stored is not stored again: the
  original is returned with ``created=False`` (idempotent resend).
- ``read_after`` / ``read_last`` / ``read_between`` return a room's messages in seq order.
- ``find`` returns the stored message of a (sender, room, client id), or None.
- A batch the store refuses for its data (a value the database cannot hold), not for an outage,
  raises ``UnstorableMessage``: the writer then stores the batch's messages one by one, so only
  the bad one fails and everyone else's messages in the batch are stored and acked.

``MemoryStore`` implements it for tests; the application brings its own SQL implementation,
beside its tables. The same contract suite runs against both.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import msgspec

from careconnect.hub.attachments import AttachmentRef
from careconnect.hub.config import Histogram

log = logging.getLogger("careconnect.hub.store")


class NewMessage(msgspec.Struct, frozen=True):
    room: str
    client_id: str
    sender_id: str
    sender_role: str
    sender_name: str
    body: str
    sender_address: str = ""  # the sender's client address (a store may keep it, e.g. for an audit)
    kind: str = "text"  # "call": a video call's start or end (PROTOCOL.md 1.1)
    attachments: tuple[AttachmentRef, ...] = ()  # the files the message carries (PROTOCOL.md 1.1)


class StoredMessage(msgspec.Struct, frozen=True):
    room: str
    seq: int
    client_id: str
    sender_id: str
    sender_role: str
    sender_name: str
    body: str
    created_at: dt.datetime
    kind: str = "text"
    attachments: tuple[AttachmentRef, ...] = ()


def stored_as(new: NewMessage, seq: int, created_at: dt.datetime) -> StoredMessage:
    """``new`` as the store keeps it, with the seq and time the store gave it."""
    return StoredMessage(
        room=new.room,
        seq=seq,
        client_id=new.client_id,
        sender_id=new.sender_id,
        sender_role=new.sender_role,
        sender_name=new.sender_name,
        body=new.body,
        created_at=created_at,
        kind=new.kind,
        attachments=new.attachments,
    )


class Appended(msgspec.Struct, frozen=True):
    message: StoredMessage
    created: bool


class UnstorableMessage(ValueError):
    """The store refused a batch for its data (e.g. a NUL in a body), not for an outage."""


@runtime_checkable  # injected as a Litestar dependency, which isinstance-checks it
class MessageStore(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def append_batch(self, batch: list[NewMessage]) -> list[Appended]:
        """Store a batch in one transaction; results in the batch's order."""
        ...

    async def read_after(self, room: str, after_seq: int, limit: int) -> list[StoredMessage]:
        """Messages with seq > after_seq, ascending, at most ``limit``."""
        ...

    async def read_last(self, room: str, limit: int) -> list[StoredMessage]:
        """The newest ``limit`` messages, ascending."""
        ...

    async def read_between(
        self, room: str, after_seq: int, before_seq: int | None, limit: int, *, newest: bool = False
    ) -> list[StoredMessage]:
        """Messages with after_seq < seq < before_seq (no upper bound when None), ascending, at
        most ``limit``: the oldest of them, or with ``newest`` the newest (a page backwards)."""
        ...

    async def last_seq(self, room: str) -> int:
        """The room's highest stored seq (0 for a room with no messages)."""
        ...

    async def find(self, sender_id: str, room: str, client_id: str) -> StoredMessage | None:
        """The message ``sender_id`` sent to ``room`` with ``client_id``, if it was stored."""
        ...


class MemoryStore:
    """Keeps messages in this process: for tests and for the hub used without a database."""

    def __init__(self) -> None:
        self.rooms: dict[str, list[StoredMessage]] = {}
        self.by_client: dict[tuple[str, str, str], StoredMessage] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def append_batch(self, batch: list[NewMessage]) -> list[Appended]:
        results = []
        now = dt.datetime.now(dt.UTC)
        for new in batch:
            key = (new.sender_id, new.room, new.client_id)
            existing = self.by_client.get(key)
            if existing is not None:
                results.append(Appended(existing, False))
                continue
            messages = self.rooms.setdefault(new.room, [])
            stored = stored_as(new, len(messages) + 1, now)
            messages.append(stored)
            self.by_client[key] = stored
            results.append(Appended(stored, True))
        return results

    async def read_after(self, room: str, after_seq: int, limit: int) -> list[StoredMessage]:
        after_seq = max(after_seq, 0)
        return self.rooms.get(room, [])[after_seq : after_seq + limit]

    async def read_last(self, room: str, limit: int) -> list[StoredMessage]:
        return self.rooms.get(room, [])[-limit:] if limit else []

    async def read_between(
        self, room: str, after_seq: int, before_seq: int | None, limit: int, *, newest: bool = False
    ) -> list[StoredMessage]:
        messages = self.rooms.get(room, [])  # seq n at index n - 1
        end = len(messages) if before_seq is None else max(min(before_seq - 1, len(messages)), 0)
        window = messages[max(after_seq, 0) : end]
        if limit <= 0:
            return []
        return window[-limit:] if newest else window[:limit]

    async def last_seq(self, room: str) -> int:
        return len(self.rooms.get(room, []))

    async def find(self, sender_id: str, room: str, client_id: str) -> StoredMessage | None:
        return self.by_client.get((sender_id, room, client_id))


Done = Callable[["Appended | None", "BaseException | None"], None]
"""A commit callback: ``(result, None)`` once stored, ``(None, exc)`` when not."""
Outcome = Appended | BaseException


class GroupCommitWriter:
    """Batches concurrent appends into few transactions: durability without a commit per message.

    Callers queue with ``submit`` (a future) or ``submit_with`` (a callback), in their order.
    Whatever is waiting when the writer runs goes out as one ``append_batch``; up to
    ``max_in_flight`` batches commit at once, but never two holding the same room (a room's
    messages commit, and are called back, in queue order). A message whose room is in flight
    waits for the next batch, and so does everything queued after it for that room.

    Committed batches are called back in the order they committed, each batch's callbacks
    together inside ``cork`` (any context manager; the hub's holds the frames they queue for
    idle sockets and writes each socket's share with one write when the batch is done). Before
    a batch is called back, whatever was submitted meanwhile is sent to the store first, so the
    next commit overlaps this batch's fan-out instead of waiting behind it.
    """

    def __init__(
        self,
        store: MessageStore,
        max_batch: int = 256,
        *,
        max_in_flight: int = 2,
        cork: contextlib.AbstractContextManager[Any] | None = None,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.cork = cork if cork is not None else contextlib.nullcontext()
        # What waits, per room, in submission order. ``_ready``: rooms with no batch in flight, in
        # the order they began to wait; ``_parked``: rooms whose batch is in flight, back to
        # ``_ready`` when it commits. Each message is moved a bounded number of times, however
        # long the queue: a backlog behind busy rooms is not scanned again on every launch.
        self._ready: dict[str, collections.deque[tuple[NewMessage, Done]]] = {}
        self._parked: dict[str, collections.deque[tuple[NewMessage, Done]]] = {}
        self._busy_rooms: set[str] = set()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._committed: collections.deque[tuple[list[tuple[NewMessage, Done]], list[Outcome]]] = collections.deque()
        self._step_scheduled = False
        self.running = False
        self.batches = 0
        self.messages = 0
        self.commit_seconds = Histogram()  # each committed batch's append_batch, start to finish

    def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False
        for task in list(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        self._call_back()  # what did commit still gets its ack
        failed = [done for queue in (*self._ready.values(), *self._parked.values()) for _, done in queue]
        self._ready.clear()
        self._parked.clear()
        _settle(failed, ConnectionError("hub stopping"))

    def submit_with(self, message: NewMessage, done: Done) -> None:
        """Queue a message now (callers keep their order); ``done(result, None)`` runs after its
        commit, ``done(None, exc)`` when it was not stored."""
        if not self.running:
            done(None, ConnectionError("the message writer is not running"))
            return
        room = message.room
        waiting = self._parked if room in self._busy_rooms else self._ready
        queue = waiting.get(room)
        if queue is None:
            queue = waiting[room] = collections.deque()
        queue.append((message, done))
        self._schedule_step()

    def submit(self, message: NewMessage) -> asyncio.Future[Appended]:
        """``submit_with`` as a future."""
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()

        def done(result: Appended | None, exc: BaseException | None) -> None:
            if future.done():
                return
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        self.submit_with(message, done)
        return future

    async def append(self, message: NewMessage) -> Appended:
        return await self.submit(message)

    def _schedule_step(self) -> None:
        if not self._step_scheduled:
            self._step_scheduled = True
            asyncio.get_running_loop().call_soon(self._step)

    def _step(self) -> None:
        """Send what waits (as far as rooms and slots allow), then call back committed batches."""
        self._step_scheduled = False
        if self._launch() and self._committed:
            # The new batches' tasks write their statements on their first step, which is queued
            # now: call back (fan out) after it.
            self._schedule_step()
            return
        self._call_back()

    def _launch(self) -> bool:
        launched = False
        ready = self._ready
        while ready and self.running and len(self._in_flight) < self.max_in_flight:
            batch: list[tuple[NewMessage, Done]] = []
            rooms: set[str] = set()
            while ready and len(batch) < self.max_batch:
                room = next(iter(ready))
                queue = ready.pop(room)
                room_left = self.max_batch - len(batch)
                if len(queue) <= room_left:
                    batch.extend(queue)
                else:  # the batch is full: the rest of this room waits for it to commit
                    batch.extend(queue.popleft() for _ in range(room_left))
                    self._parked[room] = queue
                rooms.add(room)
            self._busy_rooms |= rooms
            task = asyncio.get_running_loop().create_task(self._commit(batch, rooms), name="hub-group-commit")
            self._in_flight.add(task)
            launched = True
        return launched

    async def _commit(self, batch: list[tuple[NewMessage, Done]], rooms: set[str]) -> None:
        began = time.perf_counter()
        results: list[Outcome]
        try:
            try:
                results = list(await self.store.append_batch([m for m, _ in batch]))
            except UnstorableMessage:
                if len(batch) == 1:
                    raise
                results = await self._one_by_one(batch)
        except asyncio.CancelledError:
            _settle([d for _, d in batch], ConnectionError("hub stopping"))
            raise
        except Exception as exc:  # noqa: BLE001 - every waiter learns the batch failed
            log.warning("message batch of %d failed: %s", len(batch), type(exc).__name__)
            _settle([d for _, d in batch], exc)
        else:
            self.commit_seconds.observe(time.perf_counter() - began)
            self.batches += 1
            self.messages += len(batch)
            self._committed.append((batch, results))
        finally:
            self._busy_rooms -= rooms
            for room in rooms:
                if (queue := self._parked.pop(room, None)) is not None:
                    self._ready[room] = queue
            task = asyncio.current_task()
            if task is not None:
                self._in_flight.discard(task)
            if self.running:
                self._schedule_step()

    async def _one_by_one(self, batch: list[tuple[NewMessage, Done]]) -> list[Outcome]:
        """The store refused the batch for a value in it: each message alone, in order, so only
        the bad one fails (its room's later messages still commit after it, gapless)."""
        log.warning("message batch of %d refused for its data: storing its messages one by one", len(batch))
        results: list[Outcome] = []
        for message, _ in batch:
            try:
                [result] = await self.store.append_batch([message])
            except Exception as exc:  # noqa: BLE001 - this one's sender learns; the others go on
                results.append(exc)
            else:
                results.append(result)
        return results

    def _call_back(self) -> None:
        committed = self._committed
        while committed:
            batch, results = committed.popleft()
            with self.cork:
                for (_, done), result in zip(batch, results, strict=True):
                    try:
                        if isinstance(result, BaseException):
                            done(None, result)
                        else:
                            done(result, None)
                    except Exception:  # a bug in one callback must not cost the others their ack
                        log.exception("a commit callback failed")


def _settle(callbacks: list[Done], exc: BaseException) -> None:
    for done in callbacks:
        try:
            done(None, exc)
        except Exception:
            log.exception("a commit callback failed")
