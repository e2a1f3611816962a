"""Mail: messages built with the standard library's ``email`` package, sent over SMTP
(aiosmtplib; STARTTLS or implicit TLS) or, without ``SMTP_URL``, written as ``.eml`` files.

Like the hub, this package is a library: it knows nothing of users, visits or the outbox.
``careconnect.domain.notifications`` renders the mails and decides when they go out.
"""

from __future__ import annotations

from careconnect.mail.files import FileTransport
from careconnect.mail.message import Attachment, MailContent, compose
from careconnect.mail.smtp import SmtpConfig, SmtpTransport, parse_smtp_url
from careconnect.mail.transport import MailError, MailRejected, MailTransport

__all__ = (
    "Attachment",
    "FileTransport",
    "MailContent",
    "MailError",
    "MailRejected",
    "MailTransport",
    "SmtpConfig",
    "SmtpTransport",
    "compose",
    "parse_smtp_url",
)
