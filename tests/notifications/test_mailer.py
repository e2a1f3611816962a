"""Each mail of issue 17 queued through ``Mailer``, carried out by the worker and received by a
real SMTP server: once, to the right recipient, with its subject, links and .ics; queued again
for the same event, nothing more; reminders move with the visit and go with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from piccolo.engine.base import Engine

from careconnect.domain.notifications.mailing import Mailer
from careconnect.domain.notifications.outbox import Outbox
from careconnect.domain.notifications.schemas import Recipient, Visit
from careconnect.domain.notifications.sealing import SecretBox
from careconnect.domain.notifications.visits import visit_parties
from careconnect.mail import SmtpTransport, parse_smtp_url
from careconnect.tables import Appointment
from careconnect.tables.outbox import OutboxJob
from tests.conftest import TEST_SECRET
from tests.mail.servers import MailServer
from tests.notifications.conftest import PUBLIC, Clock, add_visit, make_worker


def ics_event(message: EmailMessage) -> Any:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    (event,) = Calendar.from_ical(part.get_content()).walk("VEVENT")
    return event


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None and message.get_body(("html",)) is not None
    return str(part.get_content())


Queue = Callable[[Mailer, Visit, Recipient, Recipient], Awaitable[bool]]
CASES: dict[str, tuple[Queue, str, str | None]] = {
    # name: (how it is queued, the subject's start, the link it must carry or None for the visit's)
    "verification": (
        lambda m, v, p, d: m.email_verification(p, "verify-me", token_id="v1"),
        "Confirm your email address",
        f"{PUBLIC}/verify-email?token=verify-me",
    ),
    "reset": (
        lambda m, v, p, d: m.password_reset(p, "reset-me", token_id="r1"),
        "Reset your CareConnect Live password",
        f"{PUBLIC}/reset-password?token=reset-me",
    ),
    "booking": (lambda m, v, p, d: m.booking_confirmed(v, p, role="patient"), "Visit booked:", None),
    "reschedule": (
        lambda m, v, p, d: m.visit_rescheduled(
            v, p, role="patient", previous_starts_at=v.starts_at - dt.timedelta(days=1)
        ),
        "Visit moved to",
        None,
    ),
    "cancellation": (
        lambda m, v, p, d: m.visit_cancelled(v, d, role="doctor", cancelled_by="patient"),
        "Visit cancelled:",
        f"{PUBLIC}/doctor/dashboard",
    ),
    "summary": (lambda m, v, p, d: m.summary_ready(v, p), "Your visit summary is ready", None),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_each_mail_arrives_once_with_its_recipient_subject_links_and_calendar(
    db: Engine[Any], clock: Clock, case: str
) -> None:
    queue, subject, link = CASES[case]
    visit, patient, doctor = await add_visit(clock.now + dt.timedelta(days=3))
    mailer = Mailer(Outbox(clock=clock), SecretBox(TEST_SECRET), clock=clock)
    assert await queue(mailer, visit, patient, doctor)
    assert not await queue(mailer, visit, patient, doctor)  # the same event again: nothing more
    with MailServer() as server:
        worker = make_worker(db, clock, transport=SmtpTransport(parse_smtp_url(server.url), timeout_s=5))
        while await worker.run_once():
            pass
        (message,) = server.messages()
        envelope = server.received[0]
    to = doctor if case == "cancellation" else patient
    assert envelope.rcpt_tos == [to.email] and message["To"].addresses[0].addr_spec == to.email
    assert str(message["Subject"]).startswith(subject)
    assert (link or f"{PUBLIC}/consultation/{visit.id}") in text_of(message)
    if case in ("booking", "reschedule", "cancellation"):
        event = ics_event(message)
        assert str(event["UID"]) == f"{visit.id}@careconnect"
        assert event.decoded("DTSTART") == visit.starts_at
        assert (int(event["SEQUENCE"]) > 0) == (case != "booking")
    else:
        assert not list(message.iter_attachments())


async def test_link_tokens_are_sealed_in_the_outbox(db: Engine[Any], clock: Clock) -> None:
    _, patient, _ = await add_visit(clock.now + dt.timedelta(days=3))
    mailer = Mailer(Outbox(clock=clock), SecretBox(TEST_SECRET), clock=clock)
    await mailer.password_reset(patient, "THE-RESET-TOKEN", token_id="r2")
    (row,) = await OutboxJob.select(OutboxJob.payload)
    assert "THE-RESET-TOKEN" not in str(row["payload"])


async def test_reminders_move_with_a_rescheduled_visit_and_go_with_a_cancelled_one(
    db: Engine[Any], clock: Clock
) -> None:
    visit, patient, doctor = await add_visit(clock.now + dt.timedelta(days=3))
    mailer = Mailer(Outbox(clock=clock), SecretBox(TEST_SECRET), clock=clock)
    both: list[tuple[Recipient, Any]] = [(patient, "patient"), (doctor, "doctor")]
    assert await mailer.schedule_reminders(visit, both) == 4

    async def pending() -> list[dt.datetime]:
        rows = await OutboxJob.select(OutboxJob.run_at).where(
            (OutboxJob.topic == f"reminders:{visit.id}") & (OutboxJob.status == "pending")
        )
        return sorted(row["run_at"] for row in rows)

    day, hour = dt.timedelta(hours=24), dt.timedelta(hours=1)
    assert await pending() == sorted([visit.starts_at - day] * 2 + [visit.starts_at - hour] * 2)
    moved = Visit(
        **{
            **{f: getattr(visit, f) for f in visit.__struct_fields__},
            "starts_at": visit.starts_at + day,
            "ends_at": visit.ends_at + day,
        }
    )
    await Appointment.update({Appointment.starts_at: moved.starts_at, Appointment.ends_at: moved.ends_at}).where(
        Appointment.id == visit.id
    )
    assert await mailer.schedule_reminders(moved, both) == 4
    assert await mailer.schedule_reminders(moved, both) == 4  # the same reschedule retried: still there
    assert await pending() == sorted([moved.starts_at - day] * 2 + [moved.starts_at - hour] * 2)
    with MailServer() as server:
        worker = make_worker(db, clock, transport=SmtpTransport(parse_smtp_url(server.url), timeout_s=5))
        clock.now = moved.starts_at - day
        while await worker.run_once():
            pass
        assert sorted(str(m["To"]) for m in server.messages()) == sorted(f"{r.name} <{r.email}>" for r, _ in both)
        assert all("tomorrow at" in str(m["Subject"]) for m in server.messages())
        reminder = text_of(server.messages()[0])
        assert f"{PUBLIC}/consultation/{visit.id}" in reminder
        await mailer.visit_cancelled(moved, doctor, role="doctor", cancelled_by="patient")  # withdraws the rest
        assert await pending() == []
        clock.now = moved.starts_at - hour
        while await worker.run_once():
            pass
        subjects = [str(m["Subject"]) for m in server.messages()]
    assert len(subjects) == 3 and subjects[-1].startswith("Visit cancelled")


async def test_no_reminder_is_queued_for_a_time_already_past(db: Engine[Any], clock: Clock) -> None:
    visit, patient, _ = await add_visit(clock.now + dt.timedelta(hours=3))
    mailer = Mailer(Outbox(clock=clock), SecretBox(TEST_SECRET), clock=clock)
    assert await mailer.schedule_reminders(visit, [(patient, "patient")]) == 1  # the 1 h one only


async def test_a_visit_and_its_people_read_back_as_mails_need_them(db: Engine[Any], clock: Clock) -> None:
    visit, patient, doctor = await add_visit(clock.now + dt.timedelta(days=1))
    parties = await visit_parties(visit.id)
    assert parties is not None
    assert parties.visit == visit and parties.patient == patient and parties.doctor == doctor
    assert await visit_parties("not-a-uuid") is None
    assert await visit_parties("6f1c2a4e-0c1d-4f7a-9a55-0d5b8e1f2a3b") is None


async def test_mails_queued_in_a_booking_that_rolls_back_are_never_sent(db: Engine[Any], clock: Clock) -> None:
    visit, _, _ = await add_visit(clock.now + dt.timedelta(days=1))
    mailer = Mailer(Outbox(clock=clock), SecretBox(TEST_SECRET), clock=clock)

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with db.transaction():
            parties = await visit_parties(visit.id)
            assert parties is not None
            assert await mailer.booking_confirmed(parties.visit, parties.patient, role="patient")
            assert await mailer.schedule_reminders(parties.visit, [(parties.patient, "patient")]) == 1
            raise Refused
    assert await OutboxJob.count() == 0
