"""The durable outbox's write side: a job is written in the caller's transaction, so it exists
if and only if the event that caused it committed (a transactional outbox).

Callers hold an ``Outbox`` (an app-level dependency) and call it inside their own transaction::

    async with write_transaction():
        await Appointment.insert(...)
        await outbox.enqueue("mail", job, key=f"mail:booking:{appointment_id}:{patient_id}")

Piccolo runs every query of the task inside the transaction that task opened, so ``enqueue``
joins it with no extra argument; outside a transaction it commits on its own. The dedupe key is
unique: the same event retried (a resent request, a replayed handler) writes no second job, so a
job runs at most once per event. The worker (``worker.py``) carries jobs out; docs/notifications.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Literal, TypeVar

import msgspec
from piccolo.custom_types import Combinable

from careconnect.domain.notifications.jobs import GiveUp
from careconnect.tables.outbox import OutboxJob

T = TypeVar("T")
JobStatus = Literal["pending", "sent", "skipped", "failed", "cancelled"]
PENDING: JobStatus = "pending"
SENT: JobStatus = "sent"  # the handler carried it out (a mail the SMTP server accepted)
SKIPPED: JobStatus = "skipped"  # moot when its time came (the visit passed or was cancelled)
FAILED: JobStatus = "failed"  # gave up: refused for good, or still failing after OUTBOX_GIVE_UP_S
CANCELLED: JobStatus = "cancelled"  # withdrawn by ``cancel`` before it ran


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """A job as a worker claimed it; ``decode`` reads its payload as the handler's own Struct."""

    id: str
    kind: str
    payload: str  # JSON text
    dedupe_key: str
    topic: str | None
    attempts: int  # including this one
    due_at: dt.datetime
    run_at: dt.datetime
    claim_token: str

    def decode(self, type_: type[T]) -> T:
        """The payload as ``type_``; raises ``msgspec.ValidationError`` when it is not one."""
        return msgspec.json.decode(self.payload, type=type_)

    def decode_or_give_up(self, type_: type[T], what: str) -> T:
        """The payload as ``type_``, or ``GiveUp`` (a payload that does not decode never will)."""
        try:
            return self.decode(type_)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise GiveUp(f"the payload is not {what}: {exc}") from exc


class JobRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Where a job stands (for tests, operators and handlers that look a job up by key)."""

    id: str
    kind: str
    dedupe_key: str
    topic: str | None
    status: JobStatus
    attempts: int
    due_at: dt.datetime
    run_at: dt.datetime
    last_error: str | None
    finished_at: dt.datetime | None


class OutboxStats:
    """What ``/metrics`` shows for this process: jobs queued, sent, skipped, retried and failed
    by kind (counters), and the jobs due but not yet done (gauges the worker refreshes)."""

    def __init__(self) -> None:
        self.queued: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.waiting: dict[str, int] = {}
        self.oldest_due_at: dt.datetime | None = None

    def oldest_waiting_s(self, now: dt.datetime) -> float:
        return max(0.0, (now - self.oldest_due_at).total_seconds()) if self.oldest_due_at else 0.0


Payload = msgspec.Struct | Mapping[str, object]


class Outbox:
    """Writes, replaces and withdraws jobs, always inside the caller's transaction if there is one.

    Args:
        stats: where ``queued`` is counted (shared with the worker and ``/metrics``).
        clock: the time a job is due when ``run_at`` is not given (tests pass their own).
    """

    def __init__(self, stats: OutboxStats | None = None, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.stats = stats or OutboxStats()
        self.clock = clock

    async def enqueue(
        self,
        kind: str,
        payload: Payload,
        *,
        key: str,
        run_at: dt.datetime | None = None,
        topic: str | None = None,
    ) -> bool:
        """Write a job due at ``run_at`` (now by default), unless one with ``key`` already exists
        (whatever its status). Returns whether this call wrote it.

        Args:
            kind: the handler that will carry it out (``"mail"``).
            payload: a Struct or a mapping, stored as JSON; the handler decodes it.
            key: the event's identity, unique across all jobs (``"mail:booking:<appointment>:<user>"``).
            run_at: when it is due; aware datetimes only.
            topic: a group ``cancel(topic=...)`` can withdraw at once (``"reminders:<appointment>"``).
        """
        now = self.clock()
        due = _aware(run_at) if run_at is not None else now
        row = self._row(kind, payload, key=key, due=due, topic=topic, now=now)
        written = (
            await OutboxJob.insert(row)
            .on_conflict(target=OutboxJob.dedupe_key, action="DO NOTHING")
            .returning(OutboxJob.id)
        )
        if written:
            self.stats.queued[kind] += 1
        return bool(written)

    async def supersede(
        self,
        kind: str,
        payload: Payload,
        *,
        key: str,
        run_at: dt.datetime | None = None,
        topic: str | None = None,
    ) -> bool:
        """Write the job, or replace the payload and time of the one with ``key`` while it has not
        run: it is pending and unclaimed, or was cancelled (which revives it). A job that already
        ran (sent, skipped, failed) or is being carried out right now stays as it is: returns False.

        Use it for jobs that move with their event, such as a reminder whose key names the visit's
        start: cancel the visit's old reminders by topic, then supersede the new ones; the same
        reschedule retried revives the reminders the retry cancelled instead of losing them.
        """
        now = self.clock()
        due = _aware(run_at) if run_at is not None else now
        row = self._row(kind, payload, key=key, due=due, topic=topic, now=now)
        written = (
            await OutboxJob.insert(row)
            .on_conflict(
                target=OutboxJob.dedupe_key,
                action="DO UPDATE",
                values=[
                    OutboxJob.kind,
                    OutboxJob.payload,
                    OutboxJob.topic,
                    OutboxJob.due_at,
                    OutboxJob.run_at,
                    OutboxJob.updated_at,
                    (OutboxJob.status, PENDING),
                    (OutboxJob.attempts, 0),
                    (OutboxJob.last_error, None),
                    (OutboxJob.finished_at, None),
                    (OutboxJob.claimed_until, None),
                    (OutboxJob.claim_token, None),
                ],
                where=(
                    OutboxJob.status.is_in([PENDING, CANCELLED])
                    & (OutboxJob.claimed_until.is_null() | (OutboxJob.claimed_until < now))
                ),
            )
            .returning(OutboxJob.id)
        )
        if written:
            self.stats.queued[kind] += 1
        return bool(written)

    async def cancel(self, *, key: str | None = None, topic: str | None = None, kind: str | None = None) -> int:
        """Withdraw the pending jobs with ``key``, or in ``topic`` (of ``kind`` if given); returns
        how many. A job a worker is carrying out right now still finishes (its mail may be on
        the wire); its handler's own check at send time is what stops a moot one."""
        if (key is None) == (topic is None):
            raise ValueError("cancel takes a key or a topic")
        now = self.clock()
        which = (OutboxJob.dedupe_key == key) if key is not None else (OutboxJob.topic == topic)
        where: Combinable = (OutboxJob.status == PENDING) & which
        if kind is not None:
            where = where & (OutboxJob.kind == kind)
        rows = (
            await OutboxJob.update({OutboxJob.status: CANCELLED, OutboxJob.finished_at: now, OutboxJob.updated_at: now})
            .where(where)
            .returning(OutboxJob.id)
        )
        return len(rows)

    async def find(self, key: str) -> JobRecord | None:
        """The job with ``key``, or None."""
        row = await OutboxJob.select().where(OutboxJob.dedupe_key == key).first()
        return None if row is None else record_of(row)

    @staticmethod
    def _row(
        kind: str, payload: Payload, *, key: str, due: dt.datetime, topic: str | None, now: dt.datetime
    ) -> OutboxJob:
        if not key or len(key) > 255:
            raise ValueError(f"an outbox key is 1 to 255 characters, not {len(key)}")
        return OutboxJob(
            id=uuid.uuid4(),
            kind=kind,
            payload=msgspec.json.encode(payload).decode(),
            dedupe_key=key,
            topic=topic,
            status=PENDING,
            due_at=due,
            run_at=due,
            attempts=0,
            created_at=now,
            updated_at=now,
        )


def record_of(row: Mapping[str, object]) -> JobRecord:
    return msgspec.convert(
        {**row, "id": str(row["id"]), "finished_at": row.get("finished_at")},
        JobRecord,
        strict=False,
        from_attributes=False,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("an outbox time must be timezone-aware (datetime.now(UTC), not datetime.now())")
    return value.astimezone(dt.UTC)
