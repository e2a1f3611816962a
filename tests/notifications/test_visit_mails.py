"""The visit's events send their mails, once, to a real SMTP server (aiosmtpd on loopback):
booking (with its .ics) to both, reschedule, cancellation to the other side, reminders 24 h and
1 h before (moved and withdrawn with the visit), "summary ready" to the patient; and two apps
on PostgreSQL with a reminder due send it once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from careconnect.tables.outbox import OutboxJob
from tests.conftest import app_client, make_settings, wipe
from tests.consult_helpers import book, open_doctor
from tests.helpers import signed_in
from tests.mail.servers import MailServer
from tests.notifications.test_app import until

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@asynccontextmanager
async def mailing_app(database_url: str, server: MailServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, smtp_url=server.url, outbox_poll_s=0.05)
    async with app_client(settings) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        yield http
        await OutboxJob.delete(force=True)


async def people(http: httpx.AsyncClient) -> dict[str, Any]:
    doctor, dh = await open_doctor(http)
    patient, ph = await signed_in(http, "patient", timezone="Europe/Paris")
    return {"doctor": doctor, "dh": dh, "patient": patient, "ph": ph}


async def settled() -> None:
    """Every job that is due has run (sent, skipped or failed)."""

    async def done() -> bool:
        now = dt.datetime.now(dt.UTC)
        waiting = await OutboxJob.count().where((OutboxJob.status == "pending") & (OutboxJob.run_at <= now))
        return waiting == 0

    await until(done)
    await asyncio.sleep(0.3)  # a worker that would send a second copy has had its chance


def come_due() -> dict[Any, Any]:
    """A job's time has come (the clock the test controls is the job's own due time)."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    return {OutboxJob.run_at: now, OutboxJob.due_at: now}


def delivered_once(server: MailServer, count: int) -> None:
    """Exactly ``count`` mails arrived, each once (a retried send would carry the same Message-ID)."""
    ids = [m["Message-ID"] for m in server.messages()]
    assert len(ids) == count and len(set(ids)) == count, ids


def to(message: EmailMessage) -> str:
    return str(message["To"])


def calendar(message: EmailMessage) -> str:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError(f"no .ics in {message['Subject']!r}")


def addressed(messages: list[EmailMessage], email: str) -> list[EmailMessage]:
    return [m for m in messages if email in to(m)]


async def reminder_jobs(appointment_id: str, status: str = "pending") -> list[dict[str, Any]]:
    return await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.run_at).where(
        (OutboxJob.topic == f"reminders:{appointment_id}") & (OutboxJob.status == status)
    )


async def test_a_booking_mails_both_sides_once_with_the_ics(database_url: str) -> None:
    with MailServer() as server:
        async with mailing_app(database_url, server) as http:
            p = await people(http)
            appointment = await book(http, p["doctor"]["id"], p["ph"])
            messages = await server.wait_for(2)
            await settled()
            delivered_once(server, 2)
            (patient_mail,) = addressed(messages, p["patient"]["email"])
            (doctor_mail,) = addressed(messages, p["doctor"]["email"])
            assert patient_mail["Subject"].startswith("Visit booked:")
            assert doctor_mail["Subject"].startswith("New booking:")
            for message in (patient_mail, doctor_mail):
                ics = calendar(message)
                assert "METHOD:REQUEST" in ics and appointment["id"] in ics
            assert "Checkup" not in patient_mail.as_string()  # who and when, never why


async def test_reminders_are_queued_on_booking_and_sent_when_due(sqlite_url: str) -> None:
    with MailServer() as server:
        async with mailing_app(sqlite_url, server) as http:
            p = await people(http)
            far = await book(http, p["doctor"]["id"], p["ph"], skip=160)  # more than 24 h ahead
            await server.wait_for(2)
            keys = sorted(str(job["dedupe_key"]).split(":")[1] for job in await reminder_jobs(far["id"]))
            assert keys == ["reminder-1h", "reminder-1h", "reminder-24h", "reminder-24h"]
            near = await book(http, p["doctor"]["id"], p["ph"], skip=0)  # within the hour: no reminder at all
            await server.wait_for(4)
            assert await reminder_jobs(near["id"]) == []
            # The 24 h reminders come due (the clock the test controls is their run_at).
            await OutboxJob.update(come_due()).where(OutboxJob.dedupe_key.like("mail:reminder-24h:%"))
            await server.wait_for(6)
            reminders = [m for m in server.messages() if m["Subject"].startswith("Reminder:")]
            assert len(reminders) == 2
            assert len(addressed(reminders, p["patient"]["email"])) == 1
            assert len(addressed(reminders, p["doctor"]["email"])) == 1


async def test_a_reschedule_mails_the_new_time_and_moves_the_reminders(sqlite_url: str) -> None:
    with MailServer() as server:
        async with mailing_app(sqlite_url, server) as http:
            p = await people(http)
            appointment = await book(http, p["doctor"]["id"], p["ph"], skip=30)
            await server.wait_for(2)
            before = {str(j["dedupe_key"]) for j in await reminder_jobs(appointment["id"])}
            assert len(before) == 2  # 1 h before, to both (24 h has passed already)
            slots = (await http.get(f"/api/v1/doctors/{p['doctor']['id']}/slots", headers=p["ph"])).json()["slots"]
            new_start = slots[40]["starts_at"]
            moved = await http.post(
                f"/api/v1/appointments/{appointment['id']}/reschedule", json={"starts_at": new_start}, headers=p["ph"]
            )
            assert moved.status_code == 200, moved.text
            messages = await server.wait_for(4)
            await settled()
            delivered_once(server, 4)
            moved_mails = [m for m in messages if m["Subject"].startswith("Visit moved to")]
            assert len(moved_mails) == 2
            assert {bool(addressed(moved_mails, p[who]["email"])) for who in ("patient", "doctor")} == {True}
            assert "SEQUENCE:0" not in calendar(moved_mails[0])
            after = {str(j["dedupe_key"]) for j in await reminder_jobs(appointment["id"])}
            assert len(after) == 2 and not after & before
            assert {str(j["dedupe_key"]) for j in await reminder_jobs(appointment["id"], "cancelled")} == before


@pytest.mark.parametrize("side", ["patient", "doctor"])
async def test_a_cancellation_mails_the_other_side_and_withdraws_the_reminders(sqlite_url: str, side: str) -> None:
    with MailServer() as server:
        async with mailing_app(sqlite_url, server) as http:
            p = await people(http)
            appointment = await book(http, p["doctor"]["id"], p["ph"], skip=30)
            await server.wait_for(2)
            headers = p["ph"] if side == "patient" else p["dh"]
            cancelled = await http.post(f"/api/v1/appointments/{appointment['id']}/cancel", json={}, headers=headers)
            assert cancelled.status_code == 200, cancelled.text
            messages = await server.wait_for(3)
            await settled()
            delivered_once(server, 3)
            other = "doctor" if side == "patient" else "patient"
            (mail,) = [m for m in messages if m["Subject"].startswith("Visit cancelled:")]
            assert p[other]["email"] in to(mail)
            assert "METHOD:CANCEL" in calendar(mail)
            assert await reminder_jobs(appointment["id"]) == []
            assert len(await reminder_jobs(appointment["id"], "cancelled")) == 2


async def test_the_summary_mail_goes_to_the_patient_once(sqlite_url: str) -> None:
    with MailServer() as server:
        async with mailing_app(sqlite_url, server) as http:
            p = await people(http)
            appointment = await book(http, p["doctor"]["id"], p["ph"])
            cid = appointment["id"]
            await server.wait_for(2)
            for path, who in (("check-in", "ph"), ("start", "dh")):
                response = await http.post(f"/api/v1/consultations/{cid}/{path}", headers=p[who])
                assert response.status_code == 200, response.text
            url = f"/api/v1/consultations/{cid}/summary"
            first = await http.put(url, json={"text": "Rest and fluids.", "version": 0}, headers=p["dh"])
            assert first.status_code == 200, first.text
            again = await http.put(url, json={"text": "Rest, fluids.", "version": 1}, headers=p["dh"])
            assert again.status_code == 200, again.text
            messages = await server.wait_for(3)
            await settled()
            summaries = [m for m in server.messages() if m["Subject"] == "Your visit summary is ready"]
            assert len(summaries) == 1 and p["patient"]["email"] in to(summaries[0])
            assert "Rest" not in summaries[0].as_string()  # never its content
            assert len(messages) == 3


async def test_the_summary_and_its_mail_commit_together(database_url: str) -> None:
    """Two first saves at once: one wins and queues the mail in its transaction; the other gets
    409 and queues nothing (on PostgreSQL a unique violation inside the transaction would abort it)."""
    with MailServer() as server:
        async with mailing_app(database_url, server) as http:
            p = await people(http)
            cid = (await book(http, p["doctor"]["id"], p["ph"]))["id"]
            await server.wait_for(2)  # the booking mails went (once the visit starts they are moot)
            for path, who in (("check-in", "ph"), ("start", "dh")):
                assert (await http.post(f"/api/v1/consultations/{cid}/{path}", headers=p[who])).status_code == 200
            url = f"/api/v1/consultations/{cid}/summary"
            saves = await asyncio.gather(
                *(http.put(url, json={"text": f"Draft {n}.", "version": 0}, headers=p["dh"]) for n in range(2))
            )
            assert sorted(r.status_code for r in saves) == [200, 409], [r.text for r in saves]
            assert (await http.get(url, headers=p["dh"])).json()["version"] == 1
            jobs = await OutboxJob.select(OutboxJob.dedupe_key).where(OutboxJob.dedupe_key.like("mail:summary%"))
            assert len(jobs) == 1, jobs
            stale = await http.put(url, json={"text": "Stale.", "version": 0}, headers=p["dh"])
            assert stale.status_code == 409
            await settled()
            summaries = [m for m in server.messages() if m["Subject"] == "Your visit summary is ready"]
            assert len(summaries) == 1


REFUSE_SUMMARY_MAIL = {
    "postgres": [
        "CREATE FUNCTION cc_test_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox refused'; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER cc_test_refuse BEFORE INSERT ON cc_outbox_job FOR EACH ROW "
        "WHEN (NEW.dedupe_key LIKE 'mail:summary%') EXECUTE FUNCTION cc_test_refuse()",
    ],
    "sqlite": [
        "CREATE TRIGGER cc_test_refuse BEFORE INSERT ON cc_outbox_job "
        "WHEN NEW.dedupe_key LIKE 'mail:summary%' BEGIN SELECT RAISE(ABORT, 'outbox refused'); END",
    ],
}
ALLOW_SUMMARY_MAIL = {
    "postgres": ["DROP TRIGGER cc_test_refuse ON cc_outbox_job", "DROP FUNCTION cc_test_refuse()"],
    "sqlite": ["DROP TRIGGER cc_test_refuse"],
}


async def test_a_summary_whose_mail_cannot_be_queued_is_not_saved(database_url: str) -> None:
    """The save and its mail are one transaction: when the outbox refuses the job, the summary
    is not saved either (the doctor is told and saves again), so no summary goes without its mail."""
    with MailServer() as server:
        async with mailing_app(database_url, server) as http:
            engine = OutboxJob._meta.db
            p = await people(http)
            cid = (await book(http, p["doctor"]["id"], p["ph"]))["id"]
            await server.wait_for(2)  # the booking mails went (once the visit starts they are moot)
            for path, who in (("check-in", "ph"), ("start", "dh")):
                assert (await http.post(f"/api/v1/consultations/{cid}/{path}", headers=p[who])).status_code == 200
            url = f"/api/v1/consultations/{cid}/summary"
            for statement in REFUSE_SUMMARY_MAIL[engine.engine_type]:
                await engine.run_ddl(statement)
            try:
                refused = await http.put(url, json={"text": "Rest and fluids.", "version": 0}, headers=p["dh"])
            finally:
                for statement in ALLOW_SUMMARY_MAIL[engine.engine_type]:
                    await engine.run_ddl(statement)
            assert refused.status_code >= 500, refused.text
            assert (await http.get(url, headers=p["dh"])).json()["version"] == 0  # nothing saved
            saved = await http.put(url, json={"text": "Rest and fluids.", "version": 0}, headers=p["dh"])
            assert saved.status_code == 200, saved.text
            await server.wait_for(3)
            await settled()
            summaries = [m for m in server.messages() if m["Subject"] == "Your visit summary is ready"]
            assert len(summaries) == 1


async def test_two_apps_on_postgres_send_a_due_reminder_once(postgres_url: str) -> None:
    with MailServer() as server:
        settings = make_settings(postgres_url, smtp_url=server.url, outbox_poll_s=0.05)
        async with AsyncExitStack() as stack:
            one = await stack.enter_async_context(app_client(settings))
            await wipe(one.app)  # type: ignore[attr-defined]
            two = await stack.enter_async_context(app_client(settings))
            assert two is not one
            p = await people(one)
            appointment = await book(one, p["doctor"]["id"], p["ph"], skip=30)
            await server.wait_for(2)
            await settled()
            await OutboxJob.update(come_due()).where(OutboxJob.topic == f"reminders:{appointment['id']}")
            await server.wait_for(4)
            await settled()
            await asyncio.sleep(0.5)
            reminders = [m for m in server.messages() if m["Subject"].startswith("Reminder:")]
            assert len(reminders) == 2
            assert len(addressed(reminders, p["patient"]["email"])) == 1
            await OutboxJob.delete(force=True)
