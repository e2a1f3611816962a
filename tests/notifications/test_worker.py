"""The worker against real SMTP servers on SQLite and PostgreSQL: due jobs go out once, later
ones wait, failures are retried with backoff until a limit, a lapsed claim is taken over, moot
mails are skipped, and on PostgreSQL many workers racing for the same jobs send each once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import Counter
from typing import Any

import pytest
from piccolo.engine.base import Engine

from careconnect.domain.notifications.claims import settle
from careconnect.domain.notifications.jobs import Outcome, Sent, Skipped
from careconnect.domain.notifications.mailing import MAIL, Mailer
from careconnect.domain.notifications.outbox import Job, Outbox, OutboxStats
from careconnect.domain.notifications.schemas import MailJob, Recipient, SummaryReady, Visit
from careconnect.domain.notifications.sealing import SecretBox
from careconnect.domain.notifications.worker import RetryPolicy
from careconnect.mail import FileTransport, SmtpTransport, parse_smtp_url
from careconnect.tables import Appointment
from careconnect.tables.outbox import OutboxJob
from tests.conftest import TEST_SECRET
from tests.mail.servers import CuttingProxy, MailServer
from tests.notifications.conftest import Clock, add_visit, make_worker

PATIENT = Recipient(user_id="u-1", email="pat@example.com", name="Pat", timezone="UTC")


def smtp(url: str) -> SmtpTransport:
    return SmtpTransport(parse_smtp_url(url), connect_timeout_s=2, timeout_s=2)


def summary_job(to: Recipient = PATIENT, visit_id: str = "6f1c2a4e-0c1d-4f7a-9a55-0d5b8e1f2a3b") -> MailJob:
    starts = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    visit = Visit(id=visit_id, starts_at=starts, ends_at=starts, doctor_name="Dr Ada", patient_name="Pat")
    return MailJob(to=to, mail=SummaryReady(visit=visit), category="summary")


async def status_of(key: str) -> dict[str, Any]:
    row = await OutboxJob.select().where(OutboxJob.dedupe_key == key).first()
    assert row is not None
    return row


async def test_a_due_mail_goes_out_once_and_a_later_one_waits_for_its_time(db: Engine[Any], clock: Clock) -> None:
    outbox = Outbox(clock=clock)
    await outbox.enqueue(MAIL, summary_job(), key="now")
    await outbox.enqueue(MAIL, summary_job(), key="later", run_at=clock.now + dt.timedelta(hours=1))
    with MailServer() as server:
        worker = make_worker(db, clock, transport=smtp(server.url))
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0
        assert len(server.messages()) == 1
        clock.advance(3600)
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0
        assert len(server.messages()) == 2
    assert (await status_of("now"))["status"] == "sent"
    assert worker.stats.sent[MAIL] == 2


async def test_a_server_refusing_its_first_attempts_gets_the_mail_once_after_backoff(
    db: Engine[Any], clock: Clock
) -> None:
    await Outbox(clock=clock).enqueue(MAIL, summary_job(), key="retried")
    with MailServer(refuse_first=2, refuse_code=451) as server:
        worker = make_worker(db, clock, transport=smtp(server.url), policy=RetryPolicy(base_s=10, max_s=60))
        assert await worker.run_once() == 1  # refused
        row = await status_of("retried")
        assert row["status"] == "pending" and "451" in row["last_error"]
        delay = (row["run_at"] - clock.now).total_seconds()
        assert 5 <= delay <= 10  # about base_s, with jitter
        assert await worker.run_once() == 0  # not before its time
        clock.advance(delay)
        assert await worker.run_once() == 1  # refused again
        second = (await status_of("retried"))["run_at"]
        assert 10 <= (second - clock.now).total_seconds() <= 20  # doubled
        clock.now = second
        assert await worker.run_once() == 1
        assert len(server.messages()) == 1 and server.data_attempts == 3
    row = await status_of("retried")
    assert row["status"] == "sent" and row["attempts"] == 3
    assert worker.stats.retried[MAIL] == 2 and worker.stats.sent[MAIL] == 1


async def test_a_connection_dropped_mid_message_is_retried_and_delivered_once(db: Engine[Any], clock: Clock) -> None:
    await Outbox(clock=clock).enqueue(MAIL, summary_job(), key="dropped")
    with MailServer() as server:
        async with CuttingProxy(server.port, cuts=1) as proxy:
            worker = make_worker(db, clock, transport=smtp(proxy.url))
            assert await worker.run_once() == 1
            assert server.messages() == [] and (await status_of("dropped"))["status"] == "pending"
            clock.advance(60)
            assert await worker.run_once() == 1
            assert len(server.messages()) == 1
    assert (await status_of("dropped"))["status"] == "sent"


async def test_a_mail_still_failing_after_the_limit_fails_logged_and_counted(
    db: Engine[Any], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    await Outbox(clock=clock).enqueue(MAIL, summary_job(), key="hopeless")
    policy = RetryPolicy(base_s=60, max_s=600, give_up_s=3600)
    with MailServer(refuse_first=1000) as server, caplog.at_level(logging.WARNING, logger="careconnect.outbox"):
        worker = make_worker(db, clock, transport=smtp(server.url), policy=policy)
        for _ in range(50):
            if (await status_of("hopeless"))["status"] != "pending":
                break
            clock.now = max(clock.now, (await status_of("hopeless"))["run_at"])
            await worker.run_once()
    row = await status_of("hopeless")
    assert row["status"] == "failed" and "451" in row["last_error"]
    assert (row["finished_at"] - row["due_at"]).total_seconds() >= 3600  # tried until the limit, not after
    assert worker.stats.failed[MAIL] == 1 and worker.stats.sent[MAIL] == 0
    assert 4 <= worker.stats.retried[MAIL] <= 12
    (failure,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "failed for good" in failure.getMessage()


async def test_a_mail_refused_for_good_fails_at_once(db: Engine[Any], clock: Clock) -> None:
    await Outbox(clock=clock).enqueue(MAIL, summary_job(), key="refused")
    with MailServer(refuse_first=1, refuse_code=550) as server:
        worker = make_worker(db, clock, transport=smtp(server.url))
        await worker.run_once()
    row = await status_of("refused")
    assert row["status"] == "failed" and "550" in row["last_error"] and row["attempts"] == 1
    assert worker.stats.failed[MAIL] == 1


async def test_a_claim_abandoned_between_claim_and_send_is_taken_over_once_its_lease_lapses(
    db: Engine[Any], clock: Clock, tmp_path: Any
) -> None:
    await Outbox(clock=clock).enqueue(MAIL, summary_job(), key="orphan")
    with MailServer() as server:
        dead = make_worker(db, clock, transport=smtp(server.url), lease_s=30)
        (claimed,) = await dead.claims.claim(clock.now, [MAIL], 4, 30)  # ...and the worker dies here
        survivor = make_worker(db, clock, transport=smtp(server.url), lease_s=30)
        assert await survivor.run_once() == 0  # the claim still holds
        clock.advance(29)
        assert await survivor.run_once() == 0
        clock.advance(2)
        assert await survivor.run_once() == 1
        assert len(server.messages()) == 1
        assert await survivor.run_once() == 0
    row = await status_of("orphan")
    assert row["status"] == "sent" and row["attempts"] == 2
    assert not await settle(claimed, "sent", clock.now)  # the dead claim cannot overwrite the new one
    assert not await settle(claimed, "failed", clock.now, "late")
    assert (await status_of("orphan"))["claim_token"] != claimed.claim_token


async def test_concurrent_claims_hand_a_due_job_to_one_worker(db: Engine[Any], clock: Clock) -> None:
    await Outbox(clock=clock).enqueue(MAIL, summary_job(), key="contested")
    workers = [make_worker(db, clock, transport=FileTransport(tmp_dir())) for _ in range(6)]
    claims = await asyncio.gather(*(w.claims.claim(clock.now, [MAIL], 4, 60) for w in workers))
    assert sorted(len(c) for c in claims) == [0, 0, 0, 0, 0, 1]


async def test_many_workers_on_postgres_send_every_mail_exactly_once(pg: Engine[Any], clock: Clock) -> None:
    outbox = Outbox(clock=clock)
    for n in range(40):
        await outbox.enqueue(
            MAIL, summary_job(Recipient(user_id=f"u{n}", email=f"p{n}@example.com", name="P")), key=f"k{n}"
        )
    with MailServer() as server:
        workers = [make_worker(pg, clock, transport=smtp(server.url), concurrency=3) for _ in range(4)]
        for _ in range(20):
            done = await asyncio.gather(*(w.run_once() for w in workers))
            if sum(done) == 0:
                break
        received = Counter(str(m["To"]) for m in server.messages())
    assert len(received) == 40 and set(received.values()) == {1}
    assert sum(w.stats.sent[MAIL] for w in workers) == 40
    assert sum(1 for w in workers if w.stats.sent[MAIL]) > 1  # they really shared the work
    assert await OutboxJob.count().where(OutboxJob.status == "sent") == 40


async def test_mails_about_a_visit_that_moved_was_cancelled_or_began_are_skipped(db: Engine[Any], clock: Clock) -> None:
    transport = FileTransport(tmp_dir())
    mailer = Mailer(Outbox(clock=clock), SecretBox(TEST_SECRET), clock=clock)
    start = clock.now + dt.timedelta(days=2)
    kept, patient, _ = await add_visit(start)
    cancelled, patient_c, _ = await add_visit(start + dt.timedelta(hours=1))
    moved, patient_m, _ = await add_visit(start + dt.timedelta(hours=2))
    for visit, to in ((kept, patient), (cancelled, patient_c), (moved, patient_m)):
        await mailer.booking_confirmed(visit, to, role="patient")
    await Appointment.update({Appointment.status: "cancelled"}).where(Appointment.id == cancelled.id)
    await Appointment.update(
        {
            Appointment.starts_at: moved.starts_at + dt.timedelta(days=1),
            Appointment.ends_at: moved.ends_at + dt.timedelta(days=1),
        }
    ).where(Appointment.id == moved.id)
    await mailer.password_reset(patient, "secret-token", token_id="expired", valid_minutes=30)
    clock.advance(31 * 60)  # the worker was down past the link's life
    worker = make_worker(db, clock, transport=transport)
    while await worker.run_once():
        pass
    statuses = {
        row["dedupe_key"]: (row["status"], row["last_error"])
        for row in await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.status, OutboxJob.last_error)
    }
    assert statuses[f"mail:booked:{kept.id}:{patient.user_id}"] == ("sent", None)
    assert statuses[f"mail:booked:{cancelled.id}:{patient_c.user_id}"] == ("skipped", "the visit is cancelled")
    assert statuses[f"mail:booked:{moved.id}:{patient_m.user_id}"] == ("skipped", "the visit moved")
    assert statuses["mail:password-reset:expired"][0] == "skipped"
    assert len(list(transport.directory.glob("*.eml"))) == 1
    assert worker.stats.skipped[MAIL] == 3
    # and a reminder that could only go out once the visit began is skipped too
    await mailer.schedule_reminders(kept, [(patient, "patient")])
    clock.now = kept.starts_at + dt.timedelta(minutes=5)
    while await worker.run_once():
        pass
    reminders = await OutboxJob.select(OutboxJob.status, OutboxJob.last_error).where(
        OutboxJob.topic == f"reminders:{kept.id}"
    )
    assert [(r["status"], r["last_error"]) for r in reminders] == [("skipped", "the visit has started")] * 2


async def test_job_kinds_are_open_and_a_worker_claims_only_the_kinds_it_knows(db: Engine[Any], clock: Clock) -> None:
    seen: list[str] = []

    async def close_visit(job: Job) -> Outcome:
        seen.append(job.decode(dict)["appointment"])
        return Sent() if len(seen) == 1 else Skipped("already closed")

    outbox = Outbox(clock=clock)
    await outbox.enqueue("close-visit", {"appointment": "a1"}, key="close:a1")
    await outbox.enqueue("close-visit", {"appointment": "a2"}, key="close:a2")
    await outbox.enqueue("webhook", {"url": "https://example.org"}, key="hook:1")
    worker = make_worker(db, clock, kinds={"close-visit": close_visit})
    assert await worker.run_once() == 2
    assert await worker.run_once() == 0
    assert sorted(seen) == ["a1", "a2"]
    assert (await status_of("hook:1"))["status"] == "pending"  # nobody here handles webhooks yet
    assert worker.stats.waiting == {}


async def test_the_waiting_gauges_follow_the_table(db: Engine[Any], clock: Clock) -> None:
    async def smtp_down(job: Job) -> Outcome:
        raise ConnectionRefusedError("nobody listens")

    stats = OutboxStats()
    outbox = Outbox(stats, clock=clock)
    await outbox.enqueue(MAIL, summary_job(), key="old", run_at=clock.now - dt.timedelta(minutes=10))
    await outbox.enqueue(MAIL, summary_job(), key="future", run_at=clock.now + dt.timedelta(hours=1))
    worker = make_worker(db, clock, kinds={MAIL: smtp_down}, stats=stats)
    assert await worker.run_once() == 1
    assert stats.waiting == {MAIL: 1}  # the future one is not waiting yet
    assert stats.oldest_waiting_s(clock.now) == 600
    clock.advance(30)
    await worker.run_once()
    assert stats.waiting == {MAIL: 1} and stats.oldest_waiting_s(clock.now) == 630  # a retry keeps its age
    assert stats.queued[MAIL] == 2 and stats.retried[MAIL] >= 1


def test_backoff_doubles_with_jitter_up_to_its_ceiling() -> None:
    policy = RetryPolicy(base_s=30, max_s=3600)
    rng = random.Random(7)
    for attempts, step in ((1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)):
        delays = [policy.delay_s(attempts, rng) for _ in range(200)]
        assert min(delays) >= step / 2 and max(delays) <= step
        assert max(delays) - min(delays) > step / 4  # spread out, not one instant


def tmp_dir() -> Any:
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="cc-mail-"))
