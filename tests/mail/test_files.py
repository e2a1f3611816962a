"""The embedded default: without SMTP_URL each mail is an .eml file a mail client can open."""

from __future__ import annotations

import email
import email.policy
import logging
import stat
from email.message import EmailMessage
from pathlib import Path

import pytest

from careconnect.mail import Attachment, FileTransport, MailContent, compose


def test_compose_makes_text_and_html_alternatives_and_attachments() -> None:
    message = compose(
        MailContent(
            subject="Visit booked:\r\nBcc: evil@example.com",
            text="plain",
            html="<p>html</p>",
            attachments=(Attachment(filename="visit.ics", content_type="text/calendar", data=b"BEGIN:VCALENDAR\r\n"),),
        ),
        to="pat@example.com",
        to_name="Pat Example",
        sender="CareConnect Live <no-reply@clinic.example>",
        message_id="<job-7@clinic.example>",
    )
    assert message["Subject"] == "Visit booked: Bcc: evil@example.com"  # a header stays one line
    assert message["Bcc"] is None
    assert message["To"] == "Pat Example <pat@example.com>"
    assert message["Message-ID"] == "<job-7@clinic.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and body.get_content().strip() == "plain"
    assert html is not None and html.get_content().strip() == "<p>html</p>"
    (ics,) = list(message.iter_attachments())
    assert ics.get_filename() == "visit.ics"
    assert ics.get_content_type() == "text/calendar"


async def test_file_transport_writes_a_private_parseable_eml_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "var" / "mail"
    message = compose(
        MailContent(subject="Reset your password", text="the link", html="<p>the link</p>"),
        to="pat@example.com",
        sender="CareConnect Live <no-reply@clinic.example>",
    )
    with caplog.at_level(logging.INFO, logger="careconnect.mail"):
        await FileTransport(folder).send(message)
    (path,) = folder.glob("*.eml")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(folder.glob("*.partial"))
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Reset your password"
    assert parsed["To"] == "pat@example.com"
    text = parsed.get_body(("plain",))
    assert text is not None and "the link" in text.get_content()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "careconnect.mail"]
    assert "pat@example.com" in line and "Reset your password" in line and str(path) in line


def test_a_long_subject_reads_back_without_a_leading_space() -> None:
    """The standard library's 78-column folding once moved a subject just past it onto a
    continuation line, which reads back as " Reminder: ..." (seen in a visit-mail test)."""
    subject = "Reminder: your visit on Thursday 3 December 2026 at 00:40 (Europe/Paris)"
    message = compose(
        MailContent(subject=subject, text="plain", html="<p>html</p>"),
        to="pat@example.com",
        sender="CareConnect Live <no-reply@clinic.example>",
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == subject
