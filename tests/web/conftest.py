"""Browser fixtures for the web client's end-to-end tests: Debian's chromium driven by Playwright.

Assumed from tests/conftest.py (the lead provides it): ``live_server_url`` -> ``str``, the base
URL (``http://127.0.0.1:<port>``) of a real ``careconnect serve`` process (uvicorn) on an
ephemeral port, on a fresh SQLite database, serving the built web app (web/out) at ``/``, the API
at ``/api/v1`` and the hub at ``/ws`` on the same origin, with ``COOKIE_SECURE=false`` (plain
http on loopback) and doctor self-registration switched on.

Never runs ``playwright install``: the browser is ``/usr/bin/chromium`` from apt.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
AXE = REPO_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "correct horse battery staple"


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


class Contexts:
    """Makes isolated browser contexts (one per person) and closes them all at the end."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.opened: list[BrowserContext] = []

    def new(
        self, *, timezone_id: str = "UTC", viewport: dict[str, int] | None = None, color_scheme: str = "light"
    ) -> BrowserContext:
        context = self.browser.new_context(
            base_url=self.base_url,
            timezone_id=timezone_id,
            viewport=viewport or DESKTOP,  # type: ignore[arg-type]
            locale="en-GB",
            color_scheme=color_scheme,  # type: ignore[arg-type]
        )
        context.set_default_timeout(15_000)
        self.opened.append(context)
        return context

    def close(self) -> None:
        for context in self.opened:
            context.close()


@pytest.fixture
def contexts(browser: Browser, live_server_url: str) -> Iterator[Contexts]:
    made = Contexts(browser, live_server_url.rstrip("/"))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="session")
def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    """Where the screenshots go: $CC_SCREENSHOT_DIR, else test-artifacts/screenshots (printed)."""
    folder = Path(os.environ.get("CC_SCREENSHOT_DIR", REPO_ROOT / "test-artifacts" / "screenshots"))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"browser screenshots: {folder}")
    return folder


def unique_email(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}@example.test"


def console_errors(page: Page) -> list[str]:
    """Collects uncaught page errors (JavaScript exceptions) for the test to assert on."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core on the current page; returns the serious and critical violations."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in web/ (axe-core is a devDependency)")
    # Evaluated through the DevTools protocol, which the page's CSP does not govern (the CSP has
    # no 'unsafe-inline' for scripts, so an injected <script> tag would be refused).
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(str(node.get("target")) for node in v.get("nodes", [])[:5])
        lines.append(f"{v['impact']}: {v['id']} ({v['help']}) at {targets}")
    return "\n".join(lines)
