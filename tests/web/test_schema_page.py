"""The API docs page at /schema renders in a real browser, from this server's files alone.

Swagger UI comes from the package (no CDN: this machine and CI reach none), under the page's own
Content-Security-Policy; the test sees the operations listed, an operation opened shows its
problem+json errors, and the browser reports no CSP violation and fetched nothing off-origin.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Contexts, console_errors

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_the_schema_page_lists_the_operations(contexts: Contexts, live_server_url: str) -> None:
    page = contexts.new().new_page()
    errors = console_errors(page)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    response = page.goto("/schema")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 40
    login = page.locator(".opblock-post", has_text="/api/v1/auth/login").first
    expect(login).to_be_visible()
    login.locator(".opblock-summary").first.click()
    expect(login.get_by_text("application/problem+json").first).to_be_attached()
    expect(page.get_by_text("CareConnect Live API").first).to_be_visible()

    origin = urlparse(live_server_url).netloc
    assert all(urlparse(url).netloc == origin for url in requested if url.startswith("http")), requested
    assert not [m for m in messages if "Content Security Policy" in m], messages
    assert not errors, errors
