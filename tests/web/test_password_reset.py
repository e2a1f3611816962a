"""Password reset in a real browser: "Forgot password?" on the sign-in page, the link read from
the mail the server wrote (an .eml file under MAIL_DIR: the embedded default without SMTP_URL),
the reset page, then the new password signs in and the old one does not. Also the verify-email
banner and link."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.live import LiveServer, served
from tests.web.conftest import PASSWORD, Contexts, console_errors, describe_violations, run_axe
from tests.web.people import ApiUser
from tests.web.test_admin_review import create_admin

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NEW_PASSWORD = "a brand new passphrase"
MAIL_DIR: dict[str, Path] = {}


@pytest.fixture(scope="module")
def reset_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live-reset")
    MAIL_DIR["path"] = folder / "mail"
    with served(
        folder,
        MAIL_DIR=str(folder / "mail"),
        OUTBOX_POLL_S="1",
        PUBLIC_URL="http://public.example.test",  # the links name it; the test opens their path here
    ) as server:
        yield server


@pytest.fixture(scope="module")
def live_server_url(reset_server: LiveServer) -> str:
    return reset_server.url


def mailed_link(to: str, path: str, timeout: float = 20.0) -> str:
    """The path and query of the newest link to ``path`` in a mail to ``to`` (waits for the worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for eml in sorted(MAIL_DIR["path"].glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            if to not in str(message["To"]):
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            match = re.search(rf"https?://[^/\s]+({re.escape(path)}\?token=[A-Za-z0-9_\-]+)", text)
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no mail with a {path} link to {to} in {MAIL_DIR['path']}")


def sign_in(page: Page, address: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_test_id("login-submit").click()


def test_forgot_password_then_reset_then_sign_in_with_the_new_password(contexts: Contexts) -> None:
    context = contexts.new()
    person = ApiUser(context, "patient", "Rosa Reset")
    context.clear_cookies()
    page = context.new_page()
    errors = console_errors(page)

    page.goto("/login")
    page.get_by_test_id("forgot-link").click()
    expect(page).to_have_url(re.compile(r"/forgot-password/?$"))
    page.get_by_label("Email").fill(person.email)
    page.get_by_test_id("forgot-submit").click()
    expect(page.get_by_test_id("forgot-sent")).to_contain_text("If an account uses this email")

    link = mailed_link(person.email, "/reset-password")
    page.goto(link)
    # Clear errors: too short, then two different passwords.
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_test_id("reset-submit").click()
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD + "!")
    page.get_by_test_id("reset-submit").click()
    expect(page.get_by_text("The two passwords are not the same.")).to_be_visible()
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_test_id("reset-submit").click()
    expect(page).to_have_url(re.compile(r"/login/?\?notice=password-reset$"))
    expect(page.get_by_test_id("reset-notice")).to_be_visible()

    # The old password no longer works; the new one does.
    sign_in(page, person.email, PASSWORD)
    expect(page.get_by_test_id("error")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))
    sign_in(page, person.email, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/patient/dashboard"))
    # A reset proves the address: no verify-email banner.
    expect(page.get_by_test_id("nav-user")).to_be_visible()
    expect(page.get_by_test_id("verify-banner")).to_have_count(0)

    # The link is single use.
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("yet another passphrase")
    page.get_by_label("New password again").fill("yet another passphrase")
    page.get_by_test_id("reset-submit").click()
    expect(page.get_by_test_id("reset-invalid")).to_be_visible()
    assert errors == []


def test_the_verify_email_banner_resends_and_the_link_confirms(contexts: Contexts) -> None:
    context = contexts.new()
    person = ApiUser(context, "patient", "Vera Verify")
    context.clear_cookies()
    page = context.new_page()
    sign_in(page, person.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/patient/dashboard"))
    banner = page.get_by_test_id("verify-banner")
    expect(banner).to_be_visible()
    page.get_by_test_id("verify-resend").click()
    expect(banner).to_contain_text("on its way")
    # A navigation may cut off the page's token refresh in flight: the next page presents the
    # token just rotated, which the grace window answers (docs/security.md), so no wait here.
    page.goto(mailed_link(person.email, "/verify-email"))
    expect(page.get_by_test_id("verify-done")).to_be_visible()
    expect(page.get_by_test_id("verify-banner")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    page.goto("/account")
    expect(page.get_by_test_id("account-settings")).to_contain_text("(confirmed)")


def test_an_admin_disables_enables_and_sends_a_password_reset(contexts: Contexts, reset_server: LiveServer) -> None:
    person = ApiUser(contexts.new(), "patient", "Ada Account")
    page = contexts.new().new_page()
    sign_in(page, create_admin(reset_server), PASSWORD)
    page.wait_for_url("**/admin")
    row = page.get_by_test_id("user-row").filter(has_text=person.email)
    expect(row.get_by_test_id("user-state")).to_contain_text("Active")
    row.get_by_role("button", name="Disable Ada Account").click()
    expect(row.get_by_test_id("user-state")).to_contain_text("Disabled")
    row.get_by_role("button", name="Enable Ada Account").click()
    expect(row.get_by_test_id("user-state")).to_contain_text("Active")
    row.get_by_role("button", name="Send password reset to Ada Account").click()
    expect(page.get_by_test_id("users-notice")).to_contain_text("password reset link was mailed")
    assert mailed_link(person.email, "/reset-password").startswith("/reset-password?token=")
    violations = run_axe(page)
    assert not violations, describe_violations(violations)
