"""The outbox inside the running app: its worker starts with the server, sends what came due
while no server ran, writes .eml files on the embedded default, and shows on /metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from careconnect.app import create_app
from careconnect.domain.notifications.deps import Notifications
from careconnect.domain.notifications.mailing import MAIL
from careconnect.domain.notifications.outbox import Outbox
from careconnect.tables.outbox import OutboxJob
from tests.conftest import app_client, make_settings, running
from tests.mail.servers import MailServer
from tests.notifications.conftest import bound
from tests.notifications.test_worker import summary_job


def notifications_of(app: Any) -> Notifications:
    provider = app.dependencies["notifications"].dependency
    notifications = provider()
    assert isinstance(notifications, Notifications)
    return notifications


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


def metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


async def test_a_mail_due_while_no_server_ran_is_sent_when_one_starts(database_url: str) -> None:
    async with bound(database_url, empty_after=False):
        an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        await Outbox().enqueue(MAIL, summary_job(), key="due-while-down", run_at=an_hour_ago)
    with MailServer() as server:
        settings = make_settings(database_url, smtp_url=server.url, outbox_poll_s=0.1)
        async with running(create_app(settings)):
            (message,) = await server.wait_for(1)
            assert message["To"] == "Pat <pat@example.com>"

            async def recorded() -> bool:
                row = await OutboxJob.select(OutboxJob.status).where(OutboxJob.dedupe_key == "due-while-down").first()
                return row == {"status": "sent"}

            await until(recorded)
            await OutboxJob.delete(force=True)


async def test_the_embedded_default_writes_eml_files_and_logs_them(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "mail"
    settings = make_settings(sqlite_url, mail_dir=str(folder), outbox_poll_s=0.1)
    async with app_client(settings) as http:
        await OutboxJob.delete(force=True)
        notifications = notifications_of(http.app)  # type: ignore[attr-defined]
        before = (await http.get("/metrics")).text
        with caplog.at_level(logging.INFO, logger="careconnect.mail"):
            await notifications.outbox.enqueue(MAIL, summary_job(), key="embedded")

            async def recorded() -> bool:
                return bool(eml_files(folder)) and notifications.stats.sent[MAIL] == 1

            await until(recorded)
        after = (await http.get("/metrics")).text
    (path,) = eml_files(folder)
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Your visit summary is ready"
    assert any("Your visit summary is ready" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    for name in ("careconnect_outbox_queued_total", "careconnect_outbox_sent_total"):
        assert metric(after, name, '{kind="mail"}') - metric(before, name, '{kind="mail"}') == 1


async def test_metrics_count_retries_and_show_how_long_the_oldest_mail_has_waited(sqlite_url: str) -> None:
    with MailServer(refuse_first=1000) as server:
        settings = make_settings(sqlite_url, smtp_url=server.url, outbox_poll_s=0.1)
        async with app_client(settings) as http:
            await OutboxJob.delete(force=True)
            notifications = notifications_of(http.app)  # type: ignore[attr-defined]
            before = (await http.get("/metrics")).text
            a_minute_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            await notifications.outbox.enqueue(MAIL, summary_job(), key="stuck", run_at=a_minute_ago)

            async def retried() -> bool:
                return notifications.stats.retried[MAIL] >= 1

            await until(retried)
            after = (await http.get("/metrics")).text
            await OutboxJob.delete(force=True)
    assert (
        metric(after, "careconnect_outbox_retried_total", '{kind="mail"}')
        - metric(before, "careconnect_outbox_retried_total", '{kind="mail"}')
        >= 1
    )
    assert metric(after, "careconnect_outbox_waiting", '{kind="mail"}') == 1
    assert metric(after, "careconnect_outbox_oldest_waiting_seconds") >= 60
    assert server.messages() == []


async def test_with_the_worker_off_nothing_is_sent(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, mail_dir=str(tmp_path), outbox_worker=False, outbox_poll_s=0.1)
    async with app_client(settings) as http:
        await OutboxJob.delete(force=True)
        await notifications_of(http.app).outbox.enqueue(MAIL, summary_job(), key="nobody-sends")  # type: ignore[attr-defined]
        await asyncio.sleep(0.5)
        row = await OutboxJob.select(OutboxJob.status).where(OutboxJob.dedupe_key == "nobody-sends").first()
        await OutboxJob.delete(force=True)
    assert row == {"status": "pending"}
    assert not eml_files(tmp_path)
