"""``NotYet``: a job that must wait for another is put back without counting as an attempt, and
its give-up clock starts again when it is put back (it has not been tried). On both engines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.engine.base import Engine

from careconnect.domain.notifications.jobs import NotYet, Outcome, Sent
from careconnect.domain.notifications.outbox import Job, Outbox
from careconnect.domain.notifications.worker import RetryPolicy
from careconnect.tables.outbox import OutboxJob
from tests.notifications.conftest import Clock, make_worker


async def test_a_job_that_waits_is_no_attempt_and_runs_once_its_time_comes(db: Engine[Any], clock: Clock) -> None:
    calls: list[int] = []

    async def waits_twice(job: Job) -> Outcome:
        calls.append(job.attempts)
        if len(calls) <= 2:
            raise NotYet(clock.now + dt.timedelta(seconds=30), "waits for the job before it")
        return Sent()

    worker = make_worker(db, clock, kinds={"ordered": waits_twice}, policy=RetryPolicy(give_up_s=60))
    await Outbox(clock=clock).enqueue("ordered", {"n": 1}, key="ordered-1")
    assert await worker.run_once() == 1
    row = await OutboxJob.select().where(OutboxJob.dedupe_key == "ordered-1").first()
    assert row is not None and row["status"] == "pending" and row["attempts"] == 0
    assert row["due_at"] == row["run_at"] == clock.now + dt.timedelta(seconds=30)
    assert await worker.run_once() == 0  # not before its time

    clock.advance(30)
    assert await worker.run_once() == 1  # waits again: 60 s after it was first queued, still not given up
    clock.advance(30)
    assert await worker.run_once() == 1
    row = await OutboxJob.select().where(OutboxJob.dedupe_key == "ordered-1").first()
    assert row is not None and row["status"] == "sent" and row["attempts"] == 1
    assert calls == [1, 1, 1]  # every try was its first attempt
