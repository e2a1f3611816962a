"""The worker that carries out due jobs: one per server worker process, started in the app's
lifespan, polling every ``poll_s`` seconds.

Each round reads how many jobs are due (one cheap query; it also feeds ``/metrics``), claims up
to ``concurrency`` of them (``claims.py``) and runs their handlers side by side, each within half
its lease so it ends before another worker could take the job over. Then:

- ``Sent`` / ``Skipped``: the job is settled;
- ``GiveUp``: failed now, logged at ERROR and counted;
- any other exception (SMTP refused, timed out, dropped): tried again after an exponential
  backoff with jitter (about ``retry_base_s``, doubling, at most ``retry_max_s``), until
  ``give_up_s`` after the job was first due, when it fails, logged and counted.

A due job waits for no event: one due while no worker ran is claimed at the first round after
one starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping

import msgspec

from careconnect.domain.notifications.claims import JobClaims, postpone, prune, retry_later, settle
from careconnect.domain.notifications.jobs import GiveUp, JobHandler, NotYet, Sent
from careconnect.domain.notifications.outbox import FAILED, SENT, SKIPPED, Job, JobStatus, OutboxStats, utc_now

log = logging.getLogger("careconnect.outbox")
PRUNE_EVERY = dt.timedelta(hours=1)
SETTLE_TRIES = 3


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Backoff while a job keeps failing, and when to stop trying."""

    base_s: float = 30.0
    max_s: float = 3600.0
    give_up_s: float = 86_400.0

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """Half the exponential step plus a random part of the other half ("equal jitter"):
        workers that failed together do not all come back in the same second."""
        step = min(self.max_s, self.base_s * 2.0 ** max(0, attempts - 1))
        return step / 2 + rng.uniform(0.0, step / 2)


class OutboxWorker:
    """Claims due jobs and runs their handlers; ``run_once`` is one round (tests drive it directly).

    Args:
        claims: how this engine claims (``claims_for(engine, holder)``).
        kinds: the handler for each job kind it will claim.
        stats: the counters ``/metrics`` reads.
        lease_s: how long a claim holds; a handler gets half of it.
    """

    def __init__(
        self,
        claims: JobClaims,
        kinds: Mapping[str, JobHandler],
        *,
        stats: OutboxStats,
        policy: RetryPolicy | None = None,
        poll_s: float = 1.0,
        lease_s: float = 120.0,
        concurrency: int = 4,
        keep_days: int = 30,
        clock: Callable[[], dt.datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.claims = claims
        self.kinds = kinds
        self.stats = stats
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.concurrency = concurrency
        self.keep = dt.timedelta(days=keep_days)
        self.clock = clock
        self.rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._pruned_at: dt.datetime | None = None

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="careconnect-outbox")

    async def stop(self, grace_s: float = 10.0) -> None:
        """Finish the round in progress (at most ``grace_s``), then let go of the SQLite lease."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.claims.release_claimer()
        except Exception as exc:  # noqa: BLE001 - cleanup on stop: the lease lapses anyway
            log.warning("outbox: could not release the claimer lease: %s", exc)

    def wake(self) -> None:
        """Run a round now instead of at the next poll (after a commit that queued a job)."""
        self._wake.set()

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()  # a wake() during the round below makes the next one start at once
            try:
                ran = await self.run_once()
                await self._prune_now_and_then()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the worker loop must survive any round's failure
                failures += 1
                ran = 0
                # No traceback: a database that is briefly away is expected here, and says so itself.
                log.warning("outbox: a round failed (%d in a row): %s: %s", failures, type(exc).__name__, exc)
            if ran >= self.concurrency:
                continue  # a full batch: more may be waiting
            pause = self.poll_s if failures == 0 else min(30.0, self.poll_s * 2**failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def run_once(self) -> int:
        """Claim the due jobs (up to ``concurrency``) and carry them out; returns how many."""
        kinds = list(self.kinds)
        now = self.clock()
        due = await self.claims.waiting(now, kinds)
        self.stats.waiting = due.by_kind
        self.stats.oldest_due_at = due.oldest_due_at
        if due.claimable == 0:
            return 0
        jobs = await self.claims.claim(now, kinds, self.concurrency, self.lease_s)
        outcomes = await asyncio.gather(*(self._carry_out(job) for job in jobs), return_exceptions=True)
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, Exception):  # recording the outcome failed; the claim lapses and it runs again
                log.warning("outbox: %s job %s: %s: %s", job.kind, job.id, type(outcome).__name__, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
        return len(jobs)

    async def _carry_out(self, job: Job) -> None:
        handler = self.kinds[job.kind]
        try:
            async with asyncio.timeout(self.lease_s / 2):
                outcome = await handler(job)
        except GiveUp as exc:
            await self._fail(job, str(exc))
        except NotYet as exc:
            await postpone(job, exc.until, self.clock(), str(exc))
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried with backoff
            await self._retry_or_fail(job, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        else:
            if isinstance(outcome, Sent):
                if await self._settle(job, SENT, None):
                    self.stats.sent[job.kind] += 1
                    log.info("outbox: %s job %s done (%s)", job.kind, job.id, job.dedupe_key)
            else:
                if await self._settle(job, SKIPPED, outcome.reason):
                    self.stats.skipped[job.kind] += 1
                    log.info("outbox: %s job %s skipped: %s", job.kind, job.id, outcome.reason)

    async def _retry_or_fail(self, job: Job, error: str) -> None:
        now = self.clock()
        deadline = job.due_at + dt.timedelta(seconds=self.policy.give_up_s)
        if now >= deadline:
            await self._fail(job, f"still failing {self.policy.give_up_s:g} s after it was due: {error}")
            return
        run_at = min(now + dt.timedelta(seconds=self.policy.delay_s(job.attempts, self.rng)), deadline)
        if await retry_later(job, run_at, now, error[:2000]):
            self.stats.retried[job.kind] += 1
            log.warning(
                "outbox: %s job %s failed (attempt %d), next at %s: %s",
                job.kind,
                job.id,
                job.attempts,
                run_at.isoformat(timespec="seconds"),
                error,
            )

    async def _fail(self, job: Job, error: str) -> None:
        if await self._settle(job, FAILED, error[:2000]):
            self.stats.failed[job.kind] += 1
            log.error(
                "outbox: %s job %s failed for good after %d attempt(s): %s", job.kind, job.id, job.attempts, error
            )

    async def _settle(self, job: Job, status: JobStatus, note: str | None) -> bool:
        """Write the outcome, trying a few times: a sent mail whose outcome is lost would go again
        once the claim lapses."""
        for attempt in range(SETTLE_TRIES):
            try:
                written = await settle(job, status, self.clock(), note)
            except Exception as exc:  # noqa: BLE001 - a failed settle write is retried, then logged
                if attempt == SETTLE_TRIES - 1:
                    log.error("outbox: could not record %s job %s as %s: %s", job.kind, job.id, status, exc)
                    return False
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            if not written:
                log.warning("outbox: %s job %s was taken over before it was recorded as %s", job.kind, job.id, status)
            return written
        return False

    async def _prune_now_and_then(self) -> None:
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        if removed := await prune(now - self.keep):
            log.info("outbox: removed %d jobs finished more than %s ago", removed, self.keep)


class StreamingWorker(OutboxWorker):
    """An ``OutboxWorker`` that claims whenever a slot is free instead of in rounds: a slow job
    (a webhook receiver that takes its whole timeout) holds one slot, never the others, and the
    next claim does not wait for it. Used for webhooks, beside the mail worker (its own kinds
    and, on SQLite, its own claimer lease)."""

    async def _loop(self) -> None:
        running: set[asyncio.Task[None]] = set()
        failures = 0
        kinds = list(self.kinds)

        def done(task: asyncio.Task[None]) -> None:
            running.discard(task)
            if not task.cancelled() and (exc := task.exception()) is not None:
                log.warning("outbox: a job's outcome was not recorded: %s: %s", type(exc).__name__, exc)
            self._wake.set()  # a slot is free

        while not self._stopping.is_set():
            self._wake.clear()
            claimed = 0
            try:
                free = self.concurrency - len(running)
                # The cheap read first: on SQLite a claim takes the write lock, so only when one is due.
                if free > 0 and (await self.claims.waiting(self.clock(), kinds)).claimable > 0:
                    jobs = await self.claims.claim(self.clock(), kinds, free, self.lease_s)
                    claimed = len(jobs)
                    for job in jobs:
                        task = asyncio.create_task(self._carry_out(job), name=f"careconnect-{job.kind}-{job.id}")
                        running.add(task)
                        task.add_done_callback(done)
                await self._prune_now_and_then()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the loop must survive any round's failure
                failures += 1
                log.warning("outbox: a claim failed (%d in a row): %s: %s", failures, type(exc).__name__, exc)
            if claimed and len(running) < self.concurrency:
                continue  # there may be more waiting
            pause = self.poll_s if failures == 0 else min(30.0, self.poll_s * 2**failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)
        if running:  # stopping: let the jobs in flight finish (``stop`` bounds the wait)
            try:
                await asyncio.wait(set(running))
            except asyncio.CancelledError:
                for task in running:
                    task.cancel()
                raise
