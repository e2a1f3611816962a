"""A mail's content (subject, text and HTML parts, attachments) and the MIME message made of it."""

from __future__ import annotations

import email.policy
import email.utils
from email.headerregistry import Address
from email.message import EmailMessage

import msgspec


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    """A file sent with the mail, such as the visit's ``.ics``."""

    filename: str
    content_type: str  # "text/calendar"
    data: bytes
    params: dict[str, str] = {}  # extra Content-Type parameters: {"method": "REQUEST"}


class MailContent(msgspec.Struct, frozen=True, kw_only=True):
    """What a template renders: the same text twice, plain and as accessible HTML."""

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


# Headers folded at 998 characters (RFC 5322's limit; 78 is only advice): the standard library,
# folding a subject just past 78, can move the whole text onto a continuation line
# ("Subject:\r\n Reminder: …"), which readers then show with a leading space.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


def compose(
    content: MailContent,
    *,
    to: str,
    sender: str,
    message_id: str | None = None,
    to_name: str = "",
) -> EmailMessage:
    """The message: ``multipart/alternative`` (text, then HTML) inside ``multipart/mixed`` when
    there are attachments. ``message_id`` (``<job-id@host>``) stays the same when a send is
    retried, so a mail client shows a duplicate once. A line break in the subject or the name
    becomes a space (a header is one line); an address that is not one raises ``ValueError``."""
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = _one_line(content.subject)
    message["From"] = sender
    message["To"] = Address(display_name=_one_line(to_name), addr_spec=to) if to_name else to
    message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id or email.utils.make_msgid(domain=_domain(sender))
    # RFC 3834: a machine wrote this; vacation responders should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(content.text, subtype="plain", charset="utf-8")
    message.add_alternative(content.html, subtype="html", charset="utf-8")
    for attachment in content.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=attachment.params
        )
    return message


def wire_bytes(message: EmailMessage, *, utf8: bool = False) -> bytes:
    """The message as it goes on the wire or into a file: CRLF, headers folded only past 998."""
    policy = email.policy.SMTPUTF8.clone(max_line_length=998) if utf8 else _POLICY
    return message.as_bytes(policy=policy)


def address_of(sender: str) -> str:
    """The bare address of a ``From`` value: ``CareConnect <no-reply@example.org>`` -> ``no-reply@example.org``."""
    return email.utils.parseaddr(sender)[1]


def _domain(sender: str) -> str:
    return address_of(sender).rpartition("@")[2] or "localhost"


def _one_line(value: str) -> str:
    return " ".join(value.split())
