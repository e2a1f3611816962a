"""Real mail servers for tests, on loopback ports: aiosmtpd (plain, STARTTLS, implicit TLS, with
or without login, refusing its first messages), a proxy that cuts a connection in the middle of
a message, and a server that accepts a connection and never speaks."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.live import free_port

Mode = Literal["plain", "starttls", "tls"]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "careconnect test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Received:
    def __init__(self, message: EmailMessage, mail_from: str, rcpt_tos: list[str]) -> None:
        self.message = message
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        owner = self.server
        with owner.lock:
            owner.data_attempts += 1
            refuse = owner.data_attempts <= owner.refuse_first
        if refuse:
            return f"{owner.refuse_code} 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with owner.lock:
            owner.received.append(Received(message, envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"


class MailServer:
    """aiosmtpd in a thread of its own on 127.0.0.1; ``received`` is what it accepted.

    ``refuse_first`` messages are answered ``refuse_code`` (451: try again later; 550: never).
    With ``users``, a login is required (over TLS).
    """

    def __init__(
        self,
        mode: Mode = "plain",
        *,
        certificate: tuple[Path, Path] | None = None,
        refuse_first: int = 0,
        refuse_code: int = 451,
        users: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.mode = mode
        self.port = port or free_port()
        self.refuse_first = refuse_first
        self.refuse_code = refuse_code
        self.users = users
        self.lock = threading.Lock()
        self.data_attempts = 0
        self.received: list[Received] = []
        context = None
        if mode != "plain":
            assert certificate is not None, "TLS needs a certificate (make_certificate)"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
        kwargs: dict[str, Any] = {}
        if mode == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if mode == "tls":
            kwargs.update(ssl_context=context, server_hostname="127.0.0.1")
        if users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=mode != "plain")
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        known = self.users or {}
        if isinstance(auth_data, LoginPassword) and known.get(auth_data.login.decode()) == auth_data.password.decode():
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def url(self) -> str:
        if self.mode == "tls":
            return f"smtps://127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}" + ("?starttls=1" if self.mode == "starttls" else "")

    def url_with_login(self, user: str, password: str) -> str:
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://{user}:{password}@{rest}"

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._controller.stop()

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """At least ``count`` accepted messages, or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.messages()) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s) within {timeout} s, got {len(self.messages())}")


class CuttingProxy:
    """A TCP proxy in front of a mail server that closes the first ``cuts`` connections once the
    client is a few bytes into the message (after ``DATA``), before the server could answer it."""

    def __init__(self, target_port: int, *, cuts: int = 1, after_bytes: int = 64) -> None:
        self.target_port = target_port
        self.cuts = cuts
        self.after_bytes = after_bytes
        self.port = free_port()
        self.cut = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in self._writers:  # every connection ends with the proxy, before the loop does
            writer.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if (task := asyncio.current_task()) is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        self._writers.append(client_writer)
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.append(server_writer)
        cutting = self.cut < self.cuts
        if cutting:
            self.cut += 1

        async def downstream() -> None:
            while chunk := await server_reader.read(4096):
                client_writer.write(chunk)
                await client_writer.drain()

        async def upstream() -> None:
            seen = b""
            in_data, sent_in_data = False, 0
            while chunk := await client_reader.read(4096):
                if cutting and in_data:
                    room = self.after_bytes - sent_in_data
                    server_writer.write(chunk[:room])
                    sent_in_data += len(chunk[:room])
                    if sent_in_data >= self.after_bytes:
                        return  # cut: the message is half sent and never answered
                    continue
                server_writer.write(chunk)
                await server_writer.drain()
                seen = (seen + chunk)[-64:]
                if cutting and b"DATA\r\n" in seen.upper():
                    in_data = True

        tasks = [asyncio.create_task(downstream()), asyncio.create_task(upstream())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for writer in (client_writer, server_writer):
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class SilentServer:
    """Accepts TCP connections and never says a word (a firewall that swallows, a hung server)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def __aenter__(self) -> SilentServer:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)

        self._server = await asyncio.start_server(hold, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
