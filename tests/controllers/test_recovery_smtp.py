"""The password reset mail through a real SMTP server (aiosmtpd on loopback): the outbox worker
sends it, and the link in it resets the password once."""

from __future__ import annotations

import asyncio
import re
import time
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

from tests.conftest import app_client, make_settings, wipe
from tests.helpers import login, register
from tests.mail.servers import MailServer

NEW_PASSWORD = "a-brand-new-passphrase"


async def mail_to(server: MailServer, address: str, timeout: float = 10.0) -> EmailMessage:
    """The first message to ``address`` (other tests' leftover jobs may be sent first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in server.messages():
            if str(message["To"]).endswith(f"<{address}>"):
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {address}")


def link_in(text: str, path: str) -> str:
    match = re.search(rf"https?://\S+{re.escape(path)}\?token=[A-Za-z0-9_\-]+", text)
    assert match, text
    return match.group(0)


async def test_the_reset_mail_arrives_by_smtp_with_a_working_link(sqlite_url: str) -> None:
    with MailServer() as server:
        settings = make_settings(
            sqlite_url, smtp_url=server.url, outbox_poll_s=0.1, public_url="https://care.example.org"
        )
        async with app_client(settings) as http:
            await wipe(http.app)  # type: ignore[attr-defined]
            user = await register(http)
            response = await http.post("/api/v1/auth/password-reset/request", json={"email": user["email"]})
            assert response.status_code == 202
            message = await mail_to(server, user["email"])
            assert message["Auto-Submitted"] == "auto-generated"
            text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
            link = link_in(text, "/reset-password")
            assert link.startswith("https://care.example.org/reset-password?token=")
            assert link.replace("&", "&amp;") in html or link in html
            assert "30 minutes" in text
            token = parse_qs(urlsplit(link).query)["token"][0]
            reset = {"token": token, "new_password": NEW_PASSWORD}
            assert (await http.post("/api/v1/auth/password-reset", json=reset)).status_code == 204
            assert (await http.post("/api/v1/auth/password-reset", json=reset)).status_code == 400
            await login(http, {"email": user["email"], "password": NEW_PASSWORD})
            await wipe(http.app)  # type: ignore[attr-defined]
