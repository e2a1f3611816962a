"""Every mail's template: subject, recipient, links, a text and an accessible HTML part, and
for visits the .ics parsed back (RFC 5545: UID, DTSTAMP, DTSTART/DTEND in UTC, SUMMARY, URL,
SEQUENCE, METHOD)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from careconnect.domain.notifications.ics import sequence_at
from careconnect.domain.notifications.schemas import (
    BookingConfirmation,
    EmailVerification,
    Mail,
    MailJob,
    PasswordReset,
    Recipient,
    SummaryReady,
    Visit,
    VisitCancelled,
    VisitReminder,
    VisitRescheduled,
)
from careconnect.domain.notifications.templates import MissingSecret, Renderer
from careconnect.mail import compose

PUBLIC = "https://care.example.org"
SENDER = "CareConnect Live <no-reply@care.example.org>"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
VISIT = Visit(
    id="6f1c2a4e-0c1d-4f7a-9a55-0d5b8e1f2a3b",
    starts_at=dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC),  # 10:00 in Paris
    ends_at=dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC),
    doctor_name="Dr Ada <Lovelace>",
    patient_name="Pat & Co",
)
PATIENT = Recipient(
    user_id="u-patient", email="pat@example.com", name="Pat <script>alert(1)</script>", timezone="Europe/Paris"
)
DOCTOR = Recipient(user_id="u-doctor", email="ada@clinic.example", name="Ada", timezone="America/New_York")
VISIT_LINK = f"{PUBLIC}/consultation/{VISIT.id}"


def mail_for(mail: Mail, to: Recipient = PATIENT, *, secret: str | None = None) -> EmailMessage:
    job = MailJob(to=to, mail=mail, category="booking")
    content = Renderer(PUBLIC, SENDER).render(job, secret=secret, now=NOW)
    message = compose(content, to=to.email, to_name=to.name, sender=SENDER, message_id="<job@care.example.org>")
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None, "a text and an HTML part"
    return str(text.get_content()), str(html.get_content())


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def assert_accessible_and_self_contained(html: str) -> None:
    assert '<html lang="en">' in html
    assert "<title>" in html and "<h1" in html
    assert "<img" not in html and "src=" not in html and "url(" not in html  # no images, no remote resources
    assert "<script>" not in html  # every value escaped
    assert all(link.startswith(PUBLIC) for link in links(html))


def calendar_of(message: EmailMessage) -> Any:
    (attachment,) = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert attachment.get_filename() == "visit.ics"
    return Calendar.from_ical(attachment.get_content())


def only_event(calendar: Any) -> Any:
    (event,) = calendar.walk("VEVENT")
    return event


def test_email_verification() -> None:
    message = mail_for(EmailVerification(), secret="tok/1+2")
    text, html = parts(message)
    assert message["To"].addresses[0].addr_spec == "pat@example.com"
    assert message["Subject"] == "Confirm your email address"
    link = f"{PUBLIC}/verify-email?token=tok%2F1%2B2"
    assert link in text and link in links(html)
    assert_accessible_and_self_contained(html)
    assert "&lt;script&gt;" in html
    assert not list(message.iter_attachments())


def test_password_reset() -> None:
    message = mail_for(PasswordReset(valid_minutes=30), secret="reset-token")
    text, html = parts(message)
    assert message["Subject"] == "Reset your CareConnect Live password"
    assert f"{PUBLIC}/reset-password?token=reset-token" in text
    assert f"{PUBLIC}/reset-password?token=reset-token" in links(html)
    assert "30 minutes" in text and "30 minutes" in html
    assert "signs you out everywhere" in text
    assert_accessible_and_self_contained(html)
    by_admin, _ = parts(mail_for(PasswordReset(requested_by_admin=True), secret="t"))
    assert "An administrator" in by_admin


def test_a_link_mail_without_its_token_cannot_be_rendered() -> None:
    with pytest.raises(MissingSecret):
        mail_for(PasswordReset())


def test_booking_confirmation_for_the_patient_carries_the_ics() -> None:
    message = mail_for(BookingConfirmation(visit=VISIT, role="patient"))
    text, html = parts(message)
    assert message["Subject"] == "Visit booked: Tuesday 3 March 2026 at 10:00 (Europe/Paris)"
    assert VISIT_LINK in text and VISIT_LINK in links(html)
    assert "Check-in opens at 09:45 (Europe/Paris)" in text
    assert "Dr Ada &lt;Lovelace&gt;" in html and "Dr Ada <Lovelace>" in text
    assert_accessible_and_self_contained(html)
    calendar = calendar_of(message)
    assert str(calendar["METHOD"]) == "REQUEST"
    event = only_event(calendar)
    assert str(event["UID"]) == f"{VISIT.id}@careconnect"
    assert event.decoded("DTSTART") == VISIT.starts_at and event.decoded("DTSTART").utcoffset() == dt.timedelta(0)
    assert event.decoded("DTEND") == VISIT.ends_at
    assert event.to_ical().decode().count("DTSTART:20260303T090000Z") == 1  # written in UTC
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["SUMMARY"]) == "Consultation with Dr Ada <Lovelace>"
    assert str(event["URL"]) == VISIT_LINK
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "mailto:pat@example.com" in str(event["ATTENDEE"])


def test_booking_confirmation_for_the_doctor_names_the_patient_in_their_own_zone() -> None:
    message = mail_for(BookingConfirmation(visit=VISIT, role="doctor"), to=DOCTOR)
    text, html = parts(message)
    assert message["Subject"] == "New booking: Tuesday 3 March 2026 at 04:00 (America/New_York)"
    assert "Pat & Co booked" in text and "Pat &amp; Co booked" in html
    assert message["To"].addresses[0].addr_spec == "ada@clinic.example"


def test_reschedule_updates_the_same_event_with_a_higher_sequence() -> None:
    moved = Visit(
        **{
            **_fields(VISIT),
            "starts_at": VISIT.starts_at + dt.timedelta(days=1),
            "ends_at": VISIT.ends_at + dt.timedelta(days=1),
        }
    )
    sequence = sequence_at(NOW)
    message = mail_for(
        VisitRescheduled(visit=moved, previous_starts_at=VISIT.starts_at, sequence=sequence, role="patient")
    )
    text, html = parts(message)
    assert message["Subject"] == "Visit moved to Wednesday 4 March 2026 at 10:00 (Europe/Paris)"
    assert "It was:   Tuesday 3 March 2026 at 10:00 (Europe/Paris)" in text
    assert VISIT_LINK in links(html)
    assert_accessible_and_self_contained(html)
    event = only_event(calendar_of(message))
    assert str(event["UID"]) == f"{VISIT.id}@careconnect"  # the same event as the booking's
    assert int(event["SEQUENCE"]) == sequence > 0
    assert event.decoded("DTSTART") == moved.starts_at
    assert sequence_at(NOW + dt.timedelta(seconds=1)) > sequence  # a later change, a higher number


def test_cancellation_cancels_the_event_and_says_who() -> None:
    message = mail_for(VisitCancelled(visit=VISIT, cancelled_by="doctor", sequence=sequence_at(NOW), role="patient"))
    text, html = parts(message)
    assert message["Subject"] == "Visit cancelled: Tuesday 3 March 2026 at 10:00 (Europe/Paris)"
    assert "was cancelled by Dr Ada <Lovelace>" in text
    assert f"{PUBLIC}/patient/dashboard" in links(html)
    assert_accessible_and_self_contained(html)
    calendar = calendar_of(message)
    assert str(calendar["METHOD"]) == "CANCEL"
    event = only_event(calendar)
    assert str(event["STATUS"]) == "CANCELLED" and str(event["UID"]) == f"{VISIT.id}@careconnect"
    by_me, _ = parts(mail_for(VisitCancelled(visit=VISIT, cancelled_by="patient", sequence=1, role="patient")))
    assert "was cancelled by you" in by_me


@pytest.mark.parametrize(
    ("lead", "now", "when"),
    [
        ("24h", VISIT.starts_at - dt.timedelta(hours=24), "tomorrow at 10:00 (Europe/Paris)"),
        ("1h", VISIT.starts_at - dt.timedelta(hours=1), "today at 10:00 (Europe/Paris)"),
    ],
)
def test_reminders_link_to_the_visit_and_say_when_check_in_opens(lead: Any, now: dt.datetime, when: str) -> None:
    job = MailJob(
        to=PATIENT,
        mail=VisitReminder(
            visit=VISIT, lead=lead, check_in_opens_at=VISIT.starts_at - dt.timedelta(minutes=15), role="patient"
        ),
        category="reminders",
    )
    content = Renderer(PUBLIC, SENDER).render(job, now=now)
    assert content.subject == f"Reminder: your visit {when}"
    assert f"starts {when}" in content.text
    assert "Check-in opens at 09:45 (Europe/Paris)" in content.text
    assert VISIT_LINK in content.text and VISIT_LINK in links(content.html)
    assert_accessible_and_self_contained(content.html)
    assert content.attachments == ()


def test_summary_ready_says_only_that_it_is_ready() -> None:
    message = mail_for(SummaryReady(visit=VISIT))
    text, html = parts(message)
    assert message["Subject"] == "Your visit summary is ready"
    assert VISIT_LINK in text and VISIT_LINK in links(html)
    assert "Tuesday 3 March 2026" in text
    assert_accessible_and_self_contained(html)


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    lost = Recipient(user_id="u", email="x@example.com", name="X", timezone="Mars/Olympus")
    message = mail_for(BookingConfirmation(visit=VISIT, role="patient"), to=lost)
    assert message["Subject"] == "Visit booked: Tuesday 3 March 2026 at 09:00 (UTC)"


def _fields(visit: Visit) -> dict[str, Any]:
    return {name: getattr(visit, name) for name in visit.__struct_fields__}
