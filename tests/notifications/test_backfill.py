"""Visits booked before the outbox existed get their jobs: the close job for every open visit,
"starting soon" and reminders for those still ahead, nothing for a cancelled one, in pages,
once (a second run writes nothing), queued once per database however often the server starts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from careconnect.domain.appointments import backfill
from careconnect.domain.appointments.backfill import BACKFILL, FIRST_PAGE_KEY, BackfillPage, queue_backfill
from careconnect.tables.outbox import OutboxJob
from tests.consult_helpers import book
from tests.mail.servers import MailServer
from tests.notifications.test_app import notifications_of
from tests.notifications.test_visit_mails import mailing_app, people, settled

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def jobs_of(appointment_id: str) -> dict[str, list[dict[str, Any]]]:
    """The visit's pending jobs by kind of key: close, soon, reminder."""
    rows = await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.run_at).where(
        OutboxJob.dedupe_key.like(f"%{appointment_id}%") & (OutboxJob.status == "pending")
    )
    found: dict[str, list[dict[str, Any]]] = {"close": [], "soon": [], "reminder": []}
    for row in rows:
        key = str(row["dedupe_key"])
        kind = "close" if key.startswith("visit.close:") else "soon" if key.startswith("visit.soon:") else "reminder"
        found[kind].append(row)
    return found


async def test_open_visits_without_jobs_get_them_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with MailServer() as server:
        async with mailing_app(database_url, server) as http:
            outbox = notifications_of(http.app).outbox  # type: ignore[attr-defined]
            # What every start does (mailing_app emptied the tables after this one's): once per database.
            assert await queue_backfill(outbox)
            assert not await queue_backfill(outbox)
            first = await OutboxJob.select(OutboxJob.run_at).where(OutboxJob.dedupe_key == FIRST_PAGE_KEY)
            assert len(first) == 1 and first[0]["run_at"] > dt.datetime.now(dt.UTC)  # due a minute after the start

            p = await people(http)
            now_visit = await book(http, p["doctor"]["id"], p["ph"], skip=0)  # starts within 10 minutes
            hours_ahead = await book(http, p["doctor"]["id"], p["ph"], skip=30)  # 1 h reminders only
            days_ahead = await book(http, p["doctor"]["id"], p["ph"], skip=160)  # 24 h and 1 h
            cancelled = await book(http, p["doctor"]["id"], p["ph"], skip=40)
            await server.wait_for(8)  # the four bookings, to both sides (once cancelled, moot)
            response = await http.post(f"/api/v1/appointments/{cancelled['id']}/cancel", json={}, headers=p["ph"])
            assert response.status_code == 200, response.text
            await server.wait_for(9)  # and the cancellation, to the doctor
            await settled()
            await OutboxJob.delete(force=True)  # as if booked by a version without the outbox

            monkeypatch.setattr(backfill, "PAGE", 2)  # three open visits: two pages
            assert await queue_backfill(outbox, delay=dt.timedelta(0))
            await settled()

            pages = await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.status).where(OutboxJob.kind == BACKFILL)
            assert len(pages) == 2 and {row["status"] for row in pages} == {"sent"}, pages
            for visit in (now_visit, hours_ahead, days_ahead):
                (close,) = (await jobs_of(visit["id"]))["close"]
                assert close["run_at"] == dt.datetime.fromisoformat(visit["ends_at"])
            soon = dt.datetime.fromisoformat(now_visit["starts_at"]) - dt.timedelta(minutes=10) > dt.datetime.now(
                dt.UTC
            )
            assert len((await jobs_of(now_visit["id"]))["soon"]) == (1 if soon else 0)  # none once its time passed
            assert (await jobs_of(now_visit["id"]))["reminder"] == []  # within the hour: both reminders passed
            assert len((await jobs_of(hours_ahead["id"]))["soon"]) == 1
            assert len((await jobs_of(hours_ahead["id"]))["reminder"]) == 2  # 1 h before, to both
            assert len((await jobs_of(days_ahead["id"]))["soon"]) == 1
            assert len((await jobs_of(days_ahead["id"]))["reminder"]) == 4
            assert await jobs_of(cancelled["id"]) == {"close": [], "soon": [], "reminder": []}

            before = await OutboxJob.count()
            await outbox.enqueue(BACKFILL, BackfillPage(), key=f"{BACKFILL}:again")
            await settled()
            assert await OutboxJob.count() == before + 1  # the second run's own row, nothing more
            assert len(server.messages()) == 9  # nothing was due: no mail went
