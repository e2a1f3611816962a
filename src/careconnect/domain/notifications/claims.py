"""How workers take jobs, one way per engine, with the same guarantee: a due job is claimed by
one worker at a time, for ``lease`` seconds, and a claim that lapses (its worker died between
claim and send) makes the job claimable again.

- PostgreSQL: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``: any number of workers on
  any number of hosts claim concurrently, each skipping the rows another is claiming.
- SQLite: one claimer at a time. A worker first takes (or renews) the ``cc_outbox_lease`` row in
  one atomic upsert, inside a ``BEGIN IMMEDIATE`` transaction, and only the holder claims jobs.
  The lease lapses like a job's claim, so when the claimer dies another worker takes over.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import msgspec
from piccolo.custom_types import Combinable
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from careconnect.domain.notifications.outbox import FAILED, PENDING, Job, JobStatus
from careconnect.instants import stored_instant
from careconnect.tables.outbox import OutboxJob, OutboxLease

LEASE_NAME = "outbox"


class Waiting(msgspec.Struct, frozen=True, kw_only=True):
    """Pending jobs that are due: how many of each kind, the oldest one's first due time, and
    how many a worker could claim now (due, not held by a live claim)."""

    by_kind: dict[str, int]
    oldest_due_at: dt.datetime | None
    claimable: int


class JobClaims(Protocol):
    """Claiming and settling jobs. Every settle is conditional on the claim token: a worker whose
    claim lapsed and was taken over cannot overwrite what the new claimer wrote."""

    async def waiting(self, now: dt.datetime, kinds: Sequence[str]) -> Waiting: ...

    async def claim(self, now: dt.datetime, kinds: Sequence[str], limit: int, lease_s: float) -> list[Job]: ...

    async def release_claimer(self) -> None: ...


async def waiting(now: dt.datetime, kinds: Sequence[str]) -> Waiting:
    """One read, cheap enough to run every poll (the status index keeps it to pending rows)."""
    if not kinds:
        return Waiting(by_kind={}, oldest_due_at=None, claimable=0)
    marks = ", ".join("{}" for _ in kinds)
    rows = await OutboxJob.raw(
        "SELECT kind, count(*) AS due, min(due_at) AS oldest, "
        "sum(CASE WHEN run_at <= {} AND (claimed_until IS NULL OR claimed_until < {}) THEN 1 ELSE 0 END) AS claimable "
        f"FROM cc_outbox_job WHERE status = 'pending' AND due_at <= {{}} AND kind IN ({marks}) GROUP BY kind",
        now,
        now,
        now,
        *kinds,
    )
    oldest = [stored_instant(row["oldest"]) for row in rows if row["oldest"] is not None]
    return Waiting(
        by_kind={str(row["kind"]): int(row["due"]) for row in rows},
        oldest_due_at=min(oldest) if oldest else None,
        claimable=sum(int(row["claimable"] or 0) for row in rows),
    )


def _claim_sql(kinds: Sequence[str], *, lock: str) -> str:
    marks = ", ".join("{}" for _ in kinds)
    return (
        "UPDATE cc_outbox_job SET claimed_until = {}, claim_token = {}, attempts = attempts + 1, updated_at = {} "
        "WHERE id IN (SELECT id FROM cc_outbox_job WHERE status = 'pending' AND run_at <= {} "
        f"AND (claimed_until IS NULL OR claimed_until < {{}}) AND kind IN ({marks}) ORDER BY run_at LIMIT {{}}{lock}) "
        "RETURNING id, kind, payload, dedupe_key, topic, attempts, due_at, run_at, claim_token"
    )


def _jobs(rows: Sequence[Mapping[str, object]]) -> list[Job]:
    jobs = [
        Job(
            id=str(row["id"]),
            kind=str(row["kind"]),
            payload=row["payload"] if isinstance(row["payload"], str) else msgspec.json.encode(row["payload"]).decode(),
            dedupe_key=str(row["dedupe_key"]),
            topic=None if row["topic"] is None else str(row["topic"]),
            attempts=int(str(row["attempts"])),
            due_at=stored_instant(row["due_at"]),
            run_at=stored_instant(row["run_at"]),
            claim_token=str(row["claim_token"]),
        )
        for row in rows
    ]
    return sorted(jobs, key=lambda job: job.run_at)


class PostgresClaims:
    """Any number of concurrent claimers (``FOR UPDATE SKIP LOCKED``)."""

    async def waiting(self, now: dt.datetime, kinds: Sequence[str]) -> Waiting:
        return await waiting(now, kinds)

    async def claim(self, now: dt.datetime, kinds: Sequence[str], limit: int, lease_s: float) -> list[Job]:
        if not kinds or limit < 1:
            return []
        token = secrets.token_hex(16)
        until = now + dt.timedelta(seconds=lease_s)
        rows = await OutboxJob.raw(
            _claim_sql(kinds, lock=" FOR UPDATE SKIP LOCKED"), until, token, now, now, now, *kinds, limit
        )
        return _jobs(rows)

    async def release_claimer(self) -> None:
        return None


class SqliteClaims:
    """One claimer at a time, the holder of the ``cc_outbox_lease`` row; ``holder`` names this worker."""

    def __init__(self, engine: SQLiteEngine, holder: str, lease: str = LEASE_NAME) -> None:
        self.engine = engine
        self.holder = holder
        self.lease = lease

    async def waiting(self, now: dt.datetime, kinds: Sequence[str]) -> Waiting:
        return await waiting(now, kinds)

    async def claim(self, now: dt.datetime, kinds: Sequence[str], limit: int, lease_s: float) -> list[Job]:
        if not kinds or limit < 1:
            return []
        token = secrets.token_hex(16)
        until = now + dt.timedelta(seconds=lease_s)
        async with self.engine.transaction(transaction_type=TransactionType.immediate):
            held = await OutboxLease.raw(
                "INSERT INTO cc_outbox_lease (name, holder, held_until) VALUES ({}, {}, {}) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until "
                "WHERE cc_outbox_lease.holder = excluded.holder OR cc_outbox_lease.held_until IS NULL "
                "OR cc_outbox_lease.held_until < {} RETURNING holder",
                self.lease,
                self.holder,
                until,
                now,
            )
            if not held:
                return []  # another worker is the claimer until its lease lapses
            rows = await OutboxJob.raw(_claim_sql(kinds, lock=""), until, token, now, now, now, *kinds, limit)
        return _jobs(rows)

    async def release_claimer(self) -> None:
        """Let another worker claim at once (a clean shutdown); a crash lets the lease lapse instead."""
        await OutboxLease.update({OutboxLease.held_until: None}).where(
            (OutboxLease.name == self.lease) & (OutboxLease.holder == self.holder)
        )


def claims_for(engine: Engine[Any], holder: str, lease: str = LEASE_NAME) -> JobClaims:
    """``lease`` names the SQLite claimer lease: a second worker for other kinds (webhooks) takes
    its own, so it never waits for the mail worker's."""
    if isinstance(engine, PostgresEngine):
        return PostgresClaims()
    if isinstance(engine, SQLiteEngine):
        return SqliteClaims(engine, holder, lease)
    raise TypeError(f"the outbox runs on PostgreSQL or SQLite, not {type(engine).__name__}")


async def settle(job: Job, status: JobStatus, now: dt.datetime, note: str | None = None) -> bool:
    """Record how the job ended (sent, skipped, failed); False when this claim no longer holds it.

    ``sent`` is written even over a ``cancel`` that came while the mail was on the wire: it went."""
    where: Combinable = (OutboxJob.id == job.id) & (OutboxJob.claim_token == job.claim_token)
    if status != "sent":
        where = where & (OutboxJob.status == PENDING)
    rows = (
        await OutboxJob.update(
            {
                OutboxJob.status: status,
                OutboxJob.finished_at: now,
                OutboxJob.updated_at: now,
                OutboxJob.claimed_until: None,
                OutboxJob.last_error: note if status in (FAILED, "skipped") else None,
            }
        )
        .where(where)
        .returning(OutboxJob.id)
    )
    return bool(rows)


async def retry_later(job: Job, run_at: dt.datetime, now: dt.datetime, error: str) -> bool:
    """Release the claim and make the job due again at ``run_at``; False when the claim was lost."""
    rows = (
        await OutboxJob.update(
            {
                OutboxJob.run_at: run_at,
                OutboxJob.updated_at: now,
                OutboxJob.claimed_until: None,
                OutboxJob.claim_token: None,
                OutboxJob.last_error: error,
            }
        )
        .where((OutboxJob.id == job.id) & (OutboxJob.claim_token == job.claim_token) & (OutboxJob.status == PENDING))
        .returning(OutboxJob.id)
    )
    return bool(rows)


async def postpone(job: Job, until: dt.datetime, now: dt.datetime, reason: str) -> bool:
    """Put the job back until ``until`` as if it had not been tried (``NotYet``): the claim's
    attempt is taken back and its first due time moves to ``until``; False when the claim was lost."""
    rows = (
        await OutboxJob.update(
            {
                OutboxJob.run_at: until,
                OutboxJob.due_at: until,
                OutboxJob.attempts: OutboxJob.attempts - 1,
                OutboxJob.updated_at: now,
                OutboxJob.claimed_until: None,
                OutboxJob.claim_token: None,
                OutboxJob.last_error: reason[:2000],
            }
        )
        .where((OutboxJob.id == job.id) & (OutboxJob.claim_token == job.claim_token) & (OutboxJob.status == PENDING))
        .returning(OutboxJob.id)
    )
    return bool(rows)


async def prune(before: dt.datetime) -> int:
    """Delete jobs that finished before ``before`` (their dedupe keys go with them)."""
    rows = (
        await OutboxJob.delete()
        .where((OutboxJob.status != PENDING) & (OutboxJob.finished_at < before))
        .returning(OutboxJob.id)
    )
    return len(rows)
