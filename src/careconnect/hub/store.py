"""The message store interface, an in-memory implementation, and the group-commit writer.

Guarantees a ``MessageStore`` must give:
- ``append_batch`` stores every new message and assigns its ``seq`` in the same transaction:
  per room, seqs start at 1 and have no gaps; when it returns, the batch is durable.
- A message whose (sender, room, client id) is already stored is not stored again: the
  original is returned with ``created=False`` (idempotent resend).
- ``read_after`` / ``read_last`` return a room's messages in seq order.
- ``find`` returns the stored message of a (sender, room, client id), or None.

``MemoryStore`` implements it for tests; the application's SQL implementation lives beside
its tables (``careconnect.chat_store``). The same contract suite runs against both.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

log = logging.getLogger("careconnect.hub.store")


class NewMessage(msgspec.Struct, frozen=True):
    room: str
    client_id: str
    sender_id: str
    sender_role: str
    sender_name: str
    body: str


class StoredMessage(msgspec.Struct, frozen=True):
    room: str
    seq: int
    client_id: str
    sender_id: str
    sender_role: str
    sender_name: str
    body: str
    created_at: dt.datetime


class Appended(msgspec.Struct, frozen=True):
    message: StoredMessage
    created: bool


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
            stored = StoredMessage(
                room=new.room,
                seq=len(messages) + 1,
                client_id=new.client_id,
                sender_id=new.sender_id,
                sender_role=new.sender_role,
                sender_name=new.sender_name,
                body=new.body,
                created_at=now,
            )
            messages.append(stored)
            self.by_client[key] = stored
            results.append(Appended(stored, True))
        return results

    async def read_after(self, room: str, after_seq: int, limit: int) -> list[StoredMessage]:
        after_seq = max(after_seq, 0)
        return self.rooms.get(room, [])[after_seq : after_seq + limit]

    async def read_last(self, room: str, limit: int) -> list[StoredMessage]:
        return self.rooms.get(room, [])[-limit:] if limit else []

    async def last_seq(self, room: str) -> int:
        return len(self.rooms.get(room, []))

    async def find(self, sender_id: str, room: str, client_id: str) -> StoredMessage | None:
        return self.by_client.get((sender_id, room, client_id))


Done = Callable[["Appended | None", "BaseException | None"], None]
"""A commit callback: ``(result, None)`` once stored, ``(None, exc)`` when not."""


class GroupCommitWriter:
    """Batches concurrent appends into one transaction: durability without a commit per message.

    Callers queue with ``submit`` (a future) or ``submit_with`` (a callback); one task drains
    everything queued while the previous batch was committing and stores it with a single
    ``append_batch``. A batch's callbacks run together, in queue order, inside ``cork``
    (any context manager; the hub's holds the frames they queue for idle sockets and writes
    each socket's share with one write when the last callback has run).
    """

    def __init__(
        self, store: MessageStore, max_batch: int = 256, *, cork: contextlib.AbstractContextManager[Any] | None = None
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.cork = cork if cork is not None else contextlib.nullcontext()
        self._queue: asyncio.Queue[tuple[NewMessage, Done]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.messages = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hub-group-commit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        failed = []
        while not self._queue.empty():
            failed.append(self._queue.get_nowait()[1])
        _settle(failed, ConnectionError("hub stopping"))

    def submit_with(self, message: NewMessage, done: Done) -> None:
        """Queue a message now (callers keep their order); ``done(result, None)`` runs after its
        commit, ``done(None, exc)`` when it was not stored."""
        if self._task is None:
            done(None, ConnectionError("the message writer is not running"))
        else:
            self._queue.put_nowait((message, done))

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

    async def _run(self) -> None:
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            pending = [await queue.get()]
            while len(pending) < self.max_batch and not queue.empty():
                pending.append(queue.get_nowait())
            try:
                results = await self.store.append_batch([m for m, _ in pending])
            except asyncio.CancelledError:
                _settle([d for _, d in pending], ConnectionError("hub stopping"))
                raise
            except Exception as exc:  # noqa: BLE001 - every waiter learns the batch failed
                log.warning("message batch of %d failed: %s", len(pending), type(exc).__name__)
                _settle([d for _, d in pending], exc)
                continue
            self.batches += 1
            self.messages += len(pending)
            # The callbacks (the fan-out) run two callbacks later, not at once: a send read in the
            # same loop turn as this commit's reply is queued first and its batch is sent to the
            # store before this batch fans out, so the next commit overlaps this fan-out instead of
            # waiting behind it (at 400 msg/s to 200 members: commit p90 1.1 -> 0.6 ms).
            loop.call_soon(loop.call_soon, self._complete, pending, results)

    def _complete(self, pending: list[tuple[NewMessage, Done]], results: list[Appended]) -> None:
        with self.cork:
            for (_, done), result in zip(pending, results, strict=True):
                try:
                    done(result, None)
                except Exception:  # a bug in one callback must not cost the others their ack
                    log.exception("a commit callback failed")


def _settle(callbacks: list[Done], exc: BaseException) -> None:
    for done in callbacks:
        try:
            done(None, exc)
        except Exception:
            log.exception("a commit callback failed")
