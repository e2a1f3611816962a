"""The one interface every way of sending mail implements, and the two ways it can fail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from email.message import EmailMessage


class MailError(Exception):
    """The mail was not accepted this time (refused connection, timeout, 4xx, dropped
    connection): sending it again later may work, and cannot deliver it twice."""


class MailRejected(MailError):
    """The server refused this mail for good (5xx for its recipient or its content): sending
    it again would be refused again."""


class MailTransport(Protocol):
    """Hands one message to the mail system.

    ``send`` returns once the message was accepted (an SMTP server answered 250 to its data, or
    the file is on disk) and raises ``MailError`` when it was not: a caller that retries after an
    error never delivers a message twice, save when the server accepted it and the connection
    broke before it could say so (SMTP cannot tell those apart; the Message-ID stays the same,
    so mail clients show one).
    """

    async def send(self, message: EmailMessage) -> None: ...
