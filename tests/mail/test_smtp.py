"""The SMTP transport against a real aiosmtpd on loopback: plain, STARTTLS and implicit TLS
(a certificate the test makes), login, and every way a server can fail."""

from __future__ import annotations

import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from careconnect.mail import MailContent, MailError, MailRejected, SmtpTransport, compose, parse_smtp_url
from tests.live import free_port
from tests.mail.servers import CuttingProxy, MailServer, SilentServer, make_certificate

SENDER = "CareConnect Live <no-reply@clinic.example>"


def a_message(to: str = "pat@example.com", subject: str = "Hello") -> EmailMessage:
    return compose(
        MailContent(subject=subject, text="plain words", html="<p>html words</p>"),
        to=to,
        sender=SENDER,
        message_id="<job-1@clinic.example>",
    )


def transport(url: str, ca_file: str | None = None) -> SmtpTransport:
    return SmtpTransport(parse_smtp_url(url), connect_timeout_s=2, timeout_s=2, ca_file=ca_file)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def test_smtp_urls_parse_to_what_they_say() -> None:
    plain = parse_smtp_url("smtp://relay.internal")
    assert (plain.host, plain.port, plain.security, plain.username) == ("relay.internal", 25, "none", None)
    starttls = parse_smtp_url("smtp://me%40x.org:p%3Ass@mail.example.org?starttls=1")
    assert (starttls.port, starttls.security, starttls.username, starttls.password) == (
        587,
        "starttls",
        "me@x.org",
        "p:ss",
    )
    implicit = parse_smtp_url("smtps://u:p@mail.example.org:2465")
    assert (implicit.port, implicit.security) == (2465, "tls")
    assert "p:ss" not in repr(starttls)
    for bad in ("http://mail.example.org", "smtp://", "smtps://h?starttls=1", "smtp://h:99999"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)


async def test_plain_smtp_delivers_the_message() -> None:
    with MailServer() as server:
        await transport(server.url).send(a_message())
        (message,) = await server.wait_for(1)
    assert message["To"] == "pat@example.com"
    assert message["Subject"] == "Hello"
    assert server.received[0].mail_from == "no-reply@clinic.example"
    assert server.received[0].rcpt_tos == ["pat@example.com"]


async def test_starttls_with_a_login_delivers_over_tls(certificate: tuple[Path, Path]) -> None:
    with MailServer("starttls", certificate=certificate, users={"mailer": "s3cret"}) as server:
        await transport(server.url_with_login("mailer", "s3cret"), ca_file=str(certificate[0])).send(a_message())
        await server.wait_for(1)
        with pytest.raises(MailError) as refused:
            await transport(server.url_with_login("mailer", "wrong"), ca_file=str(certificate[0])).send(a_message())
    assert not isinstance(refused.value, MailRejected)  # a bad login is fixable: the outbox retries
    assert len(server.messages()) == 1


async def test_implicit_tls_delivers(certificate: tuple[Path, Path]) -> None:
    with MailServer("tls", certificate=certificate) as server:
        await transport(server.url, ca_file=str(certificate[0])).send(a_message())
        assert len(await server.wait_for(1)) == 1


async def test_a_certificate_nobody_vouches_for_is_refused(certificate: tuple[Path, Path]) -> None:
    with MailServer("tls", certificate=certificate) as server, pytest.raises(MailError, match="could not connect"):
        await transport(server.url).send(a_message())
    assert server.messages() == []


async def test_starttls_refused_by_a_server_without_it_is_an_error() -> None:
    with MailServer() as server, pytest.raises(MailError):
        await transport(server.url + "?starttls=1").send(a_message())
    assert server.messages() == []


async def test_a_temporary_refusal_is_an_error_to_retry_and_a_permanent_one_is_not() -> None:
    with MailServer(refuse_first=1, refuse_code=451) as server:
        with pytest.raises(MailError) as temporary:
            await transport(server.url).send(a_message())
        assert not isinstance(temporary.value, MailRejected)
        await transport(server.url).send(a_message())
        assert len(server.messages()) == 1
    with MailServer(refuse_first=1, refuse_code=554) as server, pytest.raises(MailRejected, match="554"):
        await transport(server.url).send(a_message())


async def test_no_server_listening_is_an_error_to_retry() -> None:
    with pytest.raises(MailError, match="could not connect"):
        await transport(f"smtp://127.0.0.1:{free_port()}").send(a_message())


async def test_a_server_that_never_answers_times_out_on_connect() -> None:
    async with SilentServer() as silent:
        started = time.monotonic()
        with pytest.raises(MailError):
            await SmtpTransport(parse_smtp_url(silent.url), connect_timeout_s=0.5, timeout_s=5).send(a_message())
        assert time.monotonic() - started < 3


async def test_a_connection_cut_in_the_middle_of_the_message_is_an_error_and_nothing_is_delivered() -> None:
    with MailServer() as server:
        async with CuttingProxy(server.port, cuts=1) as proxy:
            with pytest.raises(MailError):
                await transport(proxy.url).send(a_message())
            assert server.messages() == []
            await transport(proxy.url).send(a_message())
            assert len(await server.wait_for(1)) == 1
