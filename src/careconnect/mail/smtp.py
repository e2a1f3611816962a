"""Sending over SMTP with aiosmtplib: ``SMTP_URL`` parsed once, one connection per message.

``smtp://user:pass@host:587?starttls=1`` upgrades with STARTTLS (and refuses a server that does
not offer it); ``smtps://host:465`` speaks TLS from the first byte; plain ``smtp://host:25``
sends in the clear (a relay on the same host or network). Certificates are verified against
the system's roots, or against ``ca_file`` when given (a private CA). Every step has a
timeout: ``connect_timeout_s`` for the TCP and TLS handshakes and the greeting, ``timeout_s``
for each command after it.
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
import msgspec

from careconnect.mail.message import address_of, wire_bytes
from careconnect.mail.transport import MailError, MailRejected

if TYPE_CHECKING:
    from email.message import EmailMessage

Security = Literal["none", "starttls", "tls"]
_TRUE = ("1", "true", "yes", "on")


class SmtpConfig(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print the password
        return (
            f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r}, username={self.username!r})"
        )


def parse_smtp_url(url: str) -> SmtpConfig:
    """``smtp://[user:pass@]host[:port][?starttls=1]`` or ``smtps://[user:pass@]host[:port]``;
    raises ``ValueError`` saying what is wrong."""
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parsed.scheme or '(no scheme)'}://")
    if not parsed.hostname:
        raise ValueError("SMTP_URL names no host: smtp://user:pass@mail.example.org:587?starttls=1")
    starttls = parse_qs(parsed.query).get("starttls", ["0"])[-1].lower() in _TRUE
    if parsed.scheme == "smtps" and starttls:
        raise ValueError("SMTP_URL: smtps:// is TLS from the start; starttls=1 is for smtp:// only")
    security: Security = "tls" if parsed.scheme == "smtps" else "starttls" if starttls else "none"
    try:
        port = parsed.port
    except ValueError:
        raise ValueError("SMTP_URL has a port that is not a number from 1 to 65535") from None
    default_port = {"tls": 465, "starttls": 587, "none": 25}[security]
    return SmtpConfig(
        host=parsed.hostname,
        port=port or default_port,
        security=security,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password is not None else None,
    )


class SmtpTransport:
    """A ``MailTransport`` over SMTP: connect, send one message, quit.

    A 5xx answer to the recipient or to the message itself raises ``MailRejected`` (sending it
    again would be refused again); everything else that stops a message (a refused or dropped
    connection, a timeout, a 4xx, a failed login or TLS handshake) raises ``MailError``, so the
    outbox tries again later. Once the server accepted the data, a failing QUIT is ignored: the
    mail is sent.
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        connect_timeout_s: float = 10.0,
        timeout_s: float = 30.0,
        ca_file: str | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.config = config
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s
        self._tls = ssl.create_default_context(cafile=ca_file) if config.security != "none" else None
        # aiosmtplib would ask for the FQDN (a DNS lookup) on every connection.
        self._local_hostname = local_hostname or socket.gethostname() or "localhost"

    async def send(self, message: EmailMessage) -> None:
        config = self.config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=self._tls,
            timeout=self.timeout_s,
            local_hostname=self._local_hostname,
        )
        try:
            await client.connect(timeout=self.connect_timeout_s)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"could not connect to {config.host}:{config.port}: {_describe(exc)}") from exc
        try:
            sender, recipients, data, options = _envelope(message)
            await client.sendmail(sender, recipients, data, mail_options=options)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            error = MailRejected if codes and all(code >= 500 for code in codes) else MailError
            raise error(f"{config.host} refused the recipient: {_describe(exc)}") from exc
        except aiosmtplib.SMTPDataError as exc:
            error = MailRejected if exc.code >= 500 else MailError
            raise error(f"{config.host} refused the message: {_describe(exc)}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"sending through {config.host}:{config.port} failed: {_describe(exc)}") from exc
        finally:
            await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.quit(timeout=min(5.0, client.timeout or 5.0))
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients) or type(exc).__name__
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return str(exc) or type(exc).__name__


def _envelope(message: EmailMessage) -> tuple[str, list[str], bytes, list[str]]:
    """``sendmail``'s arguments: the bare sender and recipient, the message as
    ``wire_bytes`` writes it (aiosmtplib's ``send_message`` would fold it again at 78 columns),
    and SMTPUTF8 when an address needs it (as ``send_message`` decides)."""
    sender, recipient = address_of(str(message["From"])), address_of(str(message["To"]))
    utf8 = not (sender.isascii() and recipient.isascii())
    return sender, [recipient], wire_bytes(message, utf8=utf8), ["SMTPUTF8"] if utf8 else []
