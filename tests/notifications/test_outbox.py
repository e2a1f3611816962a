"""The outbox's write side on SQLite and PostgreSQL: a job exists if and only if its transaction
committed, once per dedupe key, and can be cancelled or superseded while it has not run."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from careconnect.domain.notifications.outbox import Outbox
from careconnect.tables.outbox import OutboxJob
from tests.notifications.conftest import Clock


def transaction(engine: Engine[Any]) -> Any:
    """As the services write (domain/scheduling ``write_transaction``): BEGIN IMMEDIATE on SQLite."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


class Boom(Exception):
    pass


async def test_a_job_exists_only_if_the_event_committed(db: Engine[Any], clock: Clock) -> None:
    outbox = Outbox(clock=clock)
    with pytest.raises(Boom):
        async with transaction(db):
            assert await outbox.enqueue("mail", {"n": 1}, key="event:rolled-back")
            assert await OutboxJob.count().where(OutboxJob.dedupe_key == "event:rolled-back") == 1  # inside: visible
            raise Boom
    assert await outbox.find("event:rolled-back") is None
    async with transaction(db):
        assert await outbox.enqueue("mail", {"n": 2}, key="event:committed")
    job = await outbox.find("event:committed")
    assert job is not None and job.status == "pending" and job.due_at == clock.now
    assert outbox.stats.queued["mail"] == 2  # counted when written (the rolled-back one too)


async def test_the_same_event_queues_one_job_even_when_it_races(db: Engine[Any], clock: Clock) -> None:
    outbox = Outbox(clock=clock)
    assert await outbox.enqueue("mail", {"n": 1}, key="event:once")
    assert not await outbox.enqueue("mail", {"n": 2}, key="event:once")

    async def in_its_own_transaction(n: int) -> bool:
        async with transaction(db):
            return await outbox.enqueue("mail", {"n": n}, key="event:raced")

    results = await asyncio.gather(*(in_its_own_transaction(n) for n in range(6)))
    assert sorted(results) == [False] * 5 + [True]
    assert await OutboxJob.count().where(OutboxJob.dedupe_key.is_in(["event:once", "event:raced"])) == 2
    assert outbox.stats.queued["mail"] == 2


async def test_cancel_withdraws_pending_jobs_by_key_or_topic(db: Engine[Any], clock: Clock) -> None:
    outbox = Outbox(clock=clock)
    later = clock.now + dt.timedelta(hours=5)
    for key in ("r:24h", "r:1h"):
        await outbox.enqueue("mail", {}, key=key, run_at=later, topic="reminders:visit-1")
    await outbox.enqueue("mail", {}, key="other", run_at=later, topic="reminders:visit-2")
    await outbox.enqueue("mail", {}, key="alone")
    assert await outbox.cancel(topic="reminders:visit-1") == 2
    assert await outbox.cancel(topic="reminders:visit-1") == 0
    assert await outbox.cancel(key="alone", kind="webhook") == 0
    assert await outbox.cancel(key="alone") == 1
    statuses = {
        row["dedupe_key"]: row["status"] for row in await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.status)
    }
    assert statuses == {"r:24h": "cancelled", "r:1h": "cancelled", "other": "pending", "alone": "cancelled"}
    with pytest.raises(ValueError):
        await outbox.cancel()


async def test_supersede_moves_a_waiting_job_revives_a_cancelled_one_and_never_redoes_a_sent_one(
    db: Engine[Any], clock: Clock
) -> None:
    outbox = Outbox(clock=clock)
    first, second = clock.now + dt.timedelta(hours=1), clock.now + dt.timedelta(hours=2)
    assert await outbox.supersede("mail", {"v": 1}, key="reminder", run_at=first, topic="t")
    assert await outbox.supersede("mail", {"v": 2}, key="reminder", run_at=second, topic="t")
    job = await outbox.find("reminder")
    assert job is not None and job.run_at == second and job.due_at == second
    payload = await OutboxJob.select(OutboxJob.payload).where(OutboxJob.dedupe_key == "reminder").first()
    assert payload is not None and "2" in str(payload["payload"])
    await outbox.cancel(topic="t")
    assert await outbox.supersede("mail", {"v": 3}, key="reminder", run_at=first, topic="t")
    revived = await outbox.find("reminder")
    assert revived is not None and revived.status == "pending" and revived.finished_at is None
    await OutboxJob.update({OutboxJob.status: "sent"}).where(OutboxJob.dedupe_key == "reminder")
    assert not await outbox.supersede("mail", {"v": 4}, key="reminder", run_at=second, topic="t")
    done = await outbox.find("reminder")
    assert done is not None and done.status == "sent" and done.run_at == first


async def test_times_must_be_aware_and_keys_short(db: Engine[Any], clock: Clock) -> None:
    outbox = Outbox(clock=clock)
    with pytest.raises(ValueError, match="timezone-aware"):
        await outbox.enqueue("mail", {}, key="naive", run_at=dt.datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="1 to 255"):
        await outbox.enqueue("mail", {}, key="k" * 256)
    assert await OutboxJob.count() == 0


async def test_the_migration_made_the_tables_the_code_expects(db: Engine[Any]) -> None:
    expected = {column._meta.db_column_name for column in OutboxJob._meta.columns}
    if isinstance(db, SQLiteEngine):
        rows = await OutboxJob.raw("SELECT name FROM pragma_table_info('cc_outbox_job')")
        indexes = await OutboxJob.raw("SELECT name FROM pragma_index_list('cc_outbox_job')")
    else:
        rows = await OutboxJob.raw(
            "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'cc_outbox_job'"
        )
        indexes = await OutboxJob.raw("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'cc_outbox_job'")
    assert {row["name"] for row in rows} == expected
    assert {"cc_outbox_job_status", "cc_outbox_job_topic"} <= {row["name"] for row in indexes}
