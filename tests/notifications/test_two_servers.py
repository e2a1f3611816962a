"""Real server processes on PostgreSQL + Redis, each running its outbox worker: two of them with
a reminder due send it once; two close each visit nobody closed once; one killed between claiming a mail and sending it leaves it to the
other, which sends it once the claim lapses."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from careconnect.domain.appointments.closing import CLOSE, schedule_close
from careconnect.domain.notifications.mailing import MAIL, Mailer
from careconnect.domain.notifications.outbox import Outbox
from careconnect.domain.notifications.sealing import SecretBox
from careconnect.tables.outbox import OutboxJob
from careconnect.tables.scheduling import Appointment
from tests.infra import REDIS_URL, migrated_postgres_database, need_redis
from tests.live import TEST_SECRET, LiveServer
from tests.mail.servers import MailServer, SilentServer
from tests.notifications.conftest import PUBLIC, add_visit, bound
from tests.notifications.test_worker import summary_job

# Several servers at once: `make test-cluster` (keeps `make test` inside its 20 minutes).
pytestmark = [pytest.mark.slow, pytest.mark.cluster]
REDIS = REDIS_URL.rsplit("/", 1)[0] + "/6"
FAST = {"OUTBOX_POLL_S": "1", "PUBLIC_URL": PUBLIC}


async def start(server: LiveServer) -> LiveServer:
    return await asyncio.to_thread(server.start)


async def stop(*servers: LiveServer) -> None:
    for server in servers:
        await asyncio.to_thread(server.stop)


def assert_clean(*logs: Path) -> None:
    for log in logs:
        text = log.read_text()
        assert "Traceback" not in text and " ERROR careconnect" not in text, text[-3000:]


async def test_two_servers_with_a_reminder_due_send_one_mail(tmp_path: Path) -> None:
    need_redis()
    with migrated_postgres_database() as url, MailServer() as smtp:
        env = {**FAST, "SMTP_URL": smtp.url}
        logs = (tmp_path / "one.log", tmp_path / "two.log")
        one = await start(LiveServer(url, redis_url=REDIS, log_path=logs[0], **env))
        two = await start(LiveServer(url, redis_url=REDIS, log_path=logs[1], **env))
        try:
            async with bound(url):
                now = dt.datetime.now(dt.UTC)
                visit, patient, doctor = await add_visit(now + dt.timedelta(hours=1, seconds=3))
                mailer = Mailer(Outbox(), SecretBox(TEST_SECRET))
                assert await mailer.schedule_reminders(visit, [(patient, "patient")]) == 1  # the 1 h one, due in 3 s
                (message,) = await smtp.wait_for(1, timeout=20)
                await asyncio.sleep(3)  # both workers had rounds enough to send it twice
                assert len(smtp.messages()) == 1
                assert message["To"].addresses[0].addr_spec == patient.email
                assert f"{PUBLIC}/consultation/{visit.id}" in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
                rows = await OutboxJob.select(OutboxJob.status, OutboxJob.attempts).where(OutboxJob.kind == MAIL)
                assert rows == [{"status": "sent", "attempts": 1}]
        finally:
            await stop(one, two)
        assert_clean(*logs)


async def test_two_servers_close_each_visit_nobody_closed_once(tmp_path: Path) -> None:
    """No-show for a visit left booked, completed for one left in progress, a follow-up for one
    whose grace has not passed: each once, with two workers claiming."""
    need_redis()
    with migrated_postgres_database() as url:
        logs = (tmp_path / "one.log", tmp_path / "two.log")
        one = await start(LiveServer(url, redis_url=REDIS, log_path=logs[0], **FAST))
        two = await start(LiveServer(url, redis_url=REDIS, log_path=logs[1], **FAST))
        try:
            async with bound(url):
                now = dt.datetime.now(dt.UTC)
                outbox = Outbox()
                missed, _, _ = await add_visit(now - dt.timedelta(minutes=90))  # ended 60 min ago
                left_open, _, _ = await add_visit(now - dt.timedelta(hours=5), status="in_progress")  # 4.5 h ago
                recent, _, _ = await add_visit(now - dt.timedelta(minutes=40))  # ended 10 min ago: not yet
                for visit in (missed, left_open, recent):
                    assert await schedule_close(outbox, visit.id, visit.ends_at)

                async def statuses() -> dict[str, str]:
                    rows = await Appointment.select(Appointment.id, Appointment.status)
                    return {str(row["id"]): row["status"] for row in rows}

                deadline = time.monotonic() + 30
                while (await statuses()).get(missed.id) == "booked" or (await statuses())[
                    left_open.id
                ] == "in_progress":
                    assert time.monotonic() < deadline, await statuses()
                    await asyncio.sleep(0.2)
                await asyncio.sleep(3)  # both workers had rounds enough to close or follow up twice
                assert await statuses() == {missed.id: "no_show", left_open.id: "completed", recent.id: "booked"}
                jobs = await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.status, OutboxJob.attempts).where(
                    OutboxJob.kind == CLOSE
                )
                by_key = {str(job["dedupe_key"]): (job["status"], job["attempts"]) for job in jobs}
                follow_up = [key for key in by_key if key.startswith(f"{CLOSE}:{recent.id}:")]
                assert len(follow_up) == 1 and by_key.pop(follow_up[0]) == ("pending", 0), by_key
                assert by_key == {f"{CLOSE}:{v.id}": ("sent", 1) for v in (missed, left_open, recent)}
        finally:
            await stop(one, two)
        assert_clean(*logs)


async def test_a_server_killed_between_claim_and_send_leaves_the_mail_to_another_once_the_claim_lapses(
    tmp_path: Path,
) -> None:
    need_redis()
    timing = {"SMTP_CONNECT_TIMEOUT_S": "3", "SMTP_TIMEOUT_S": "2", "OUTBOX_LEASE_S": "10"}
    with migrated_postgres_database() as url, MailServer() as smtp:
        async with SilentServer() as hung:  # the first server's mail relay swallows its connection
            doomed = await start(
                LiveServer(url, redis_url=REDIS, log_path=tmp_path / "doomed.log", SMTP_URL=hung.url, **FAST, **timing)
            )
            async with bound(url):
                await Outbox().enqueue(MAIL, summary_job(), key="orphaned")
                claimed = await until_claimed("orphaned")
                doomed.kill()  # between claim and send: it was still waiting for the relay's greeting
                killed_at = dt.datetime.now(dt.UTC)
                survivor = await start(
                    LiveServer(
                        url, redis_url=REDIS, log_path=tmp_path / "survivor.log", SMTP_URL=smtp.url, **FAST, **timing
                    )
                )
                try:
                    (message,) = await smtp.wait_for(1, timeout=30)
                    received_at = dt.datetime.now(dt.UTC)
                    await asyncio.sleep(2)
                    assert len(smtp.messages()) == 1
                    assert message["To"] == "Pat <pat@example.com>"
                    assert received_at >= claimed["claimed_until"] > killed_at  # not before the dead claim lapsed
                    row = (
                        await OutboxJob.select(OutboxJob.status, OutboxJob.attempts)
                        .where(OutboxJob.kind == MAIL)
                        .first()
                    )
                    assert row == {"status": "sent", "attempts": 2}
                finally:
                    await stop(survivor)
        assert_clean(tmp_path / "survivor.log")


async def until_claimed(key: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = (
            await OutboxJob.select(OutboxJob.claim_token, OutboxJob.claimed_until)
            .where(OutboxJob.dedupe_key == key)
            .first()
        )
        if row and row["claim_token"]:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"no worker claimed {key} within {timeout} s")
