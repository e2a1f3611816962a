"""Sign-in security in a real browser: `next=` never leaves the site, two-step sign-in (TOTP and
recovery codes), the enrolment page, and a page CSP without 'unsafe-inline' scripts that still
lets every page and the chat's WebSocket work.

The server here runs with MFA_REQUIRED_ROLES=doctor, so a doctor without a factor is sent to
/account/security after signing in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pyotp
import pytest
from playwright.sync_api import expect

from tests.live import served
from tests.web.conftest import PASSWORD, Contexts, describe_violations, run_axe
from tests.web.people import ApiUser, api_book_first_slot, api_open_every_hour

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NARROW = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served(tmp_path_factory.mktemp("live-mfa"), MFA_REQUIRED_ROLES="doctor") as server:
        yield server.url


def api_enrol(person: ApiUser) -> tuple[str, list[str], str]:
    """TOTP on over the API; returns (secret, recovery codes, the code that confirmed it, now spent)."""
    secret = person.call("POST", "/users/me/mfa/totp")["secret"]
    spent = pyotp.TOTP(secret).now()
    codes = person.call("POST", "/users/me/mfa/totp/confirm", {"code": spent})["recovery_codes"]
    return secret, codes, spent


def sign_in(page: Page, email: str, next_query: str = "") -> None:
    page.goto(f"/login{next_query}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()


def left_login(page: Page) -> None:
    page.wait_for_url(lambda url: urlparse(url).path != "/login")


def overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# ----- next= ---------------------------------------------------------------------------------

# The raw query value as it would arrive in a link; every one must end on the patient's dashboard.
HOSTILE_NEXT = [
    "/%09/other-host/page",
    "/%09other",
    "//other-host/page",
    "/%5Cother-host/page",
    "/%5C%5Cother-host",
    "%2F%2Fother-host",
    "/%0A/other-host",
    "/%0D%0A/other-host",
    "/%20/other-host",
    "/%E2%80%A8/other-host",
    "/%7F/other-host",
    "javascript:alert(document.domain)",
    "JavaScript%3Aalert(1)",
    "https://other-host/page",
    "http:other-host",
    "other-host/page",
]


def test_next_only_ever_returns_to_this_site(contexts: Contexts, live_server_url: str) -> None:
    origin = live_server_url.rstrip("/")
    context = contexts.new()
    patient = ApiUser(context, "patient", "Grace Hopper")
    visitor = contexts.new().new_page()
    # Signing in through the form with the reported link stays on the app.
    sign_in(visitor, patient.email, "?next=/%09/other-host/page")
    visitor.wait_for_url(f"{origin}/patient/dashboard")
    # Signed in, the login page follows next= at once: each hostile value lands on the dashboard.
    for value in HOSTILE_NEXT:
        visitor.goto(f"/login?next={value}")
        left_login(visitor)
        assert visitor.url == f"{origin}/patient/dashboard", f"next={value} went to {visitor.url}"
    # A path on this site is honoured, with its query.
    visitor.goto("/login?next=%2Fpatient%2Fdashboard%3Fscope%3Dpast")
    left_login(visitor)
    assert visitor.url == f"{origin}/patient/dashboard?scope=past"


# ----- two-step sign-in --------------------------------------------------------------------


def test_two_step_sign_in_with_an_app_code_then_a_recovery_code(contexts: Contexts, screenshot_dir: Path) -> None:
    patient = ApiUser(contexts.new(), "patient", "Ada Lovelace")
    secret, codes, spent = api_enrol(patient)
    page = contexts.new(viewport=NARROW).new_page()
    sign_in(page, patient.email)
    expect(page.get_by_test_id("mfa-step")).to_be_focused()
    field = page.get_by_label("6-digit code")
    expect(field).to_have_attribute("autocomplete", "one-time-code")
    expect(field).to_have_attribute("inputmode", "numeric")
    assert overflow(page) <= 1
    violations = run_axe(page)
    assert not violations, describe_violations(violations)
    # The code that confirmed the enrolment was spent: it is refused, with the tries left (the
    # very code, not "now", which may be the next step's on a slow machine).
    field.fill(spent)
    page.get_by_test_id("mfa-submit").click()
    expect(page.locator("#login-code-error")).to_contain_text("4 tries left")
    expect(field).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(screenshot_dir / "login-code-step-narrow.png"), full_page=True)
    field.fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_test_id("mfa-submit").click()
    page.wait_for_url("**/patient/dashboard")

    page.get_by_test_id("nav-menu").click()  # on a phone, the links are in the menu
    page.get_by_test_id("logout").click()
    page.wait_for_url("**/login")
    sign_in(page, patient.email)
    page.get_by_test_id("mfa-switch").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_test_id("mfa-submit").click()
    page.wait_for_url("**/patient/dashboard")

    # The same recovery code works once only.
    page.get_by_test_id("nav-menu").click()  # on a phone, the links are in the menu
    page.get_by_test_id("logout").click()
    page.wait_for_url("**/login")
    sign_in(page, patient.email)
    page.get_by_test_id("mfa-switch").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_test_id("mfa-submit").click()
    expect(page.locator("#login-recovery-code-error")).to_contain_text("already used")
    assert urlparse(page.url).path == "/login"


def test_a_doctor_without_a_factor_enrols_on_the_security_page(contexts: Contexts, screenshot_dir: Path) -> None:
    doctor = ApiUser(contexts.new(), "doctor", "Dr Barbara McClintock")
    page = contexts.new(viewport=NARROW).new_page()
    downloads: list[Any] = []
    sign_in(page, doctor.email)
    page.wait_for_url("**/account/security?next=%2Fdoctor%2Fdashboard")
    expect(page.get_by_test_id("mfa-required")).to_be_visible()
    page.get_by_test_id("mfa-start").click()
    qr = page.get_by_test_id("mfa-qr")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth >= 100", qr.element_handle())
    assert (qr.get_attribute("src") or "").startswith("data:image/png;base64,")
    secret = (page.get_by_test_id("mfa-secret").text_content() or "").replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    expect(page.get_by_label("6-digit code from the app")).to_have_attribute("autocomplete", "one-time-code")
    assert overflow(page) <= 1
    problems = run_axe(page)
    page.screenshot(path=str(screenshot_dir / "security-scan-narrow.png"), full_page=True)
    page.get_by_label("6-digit code from the app").fill("12")
    page.get_by_test_id("mfa-confirm").click()
    expect(page.locator("#mfa-confirm-code-error")).to_be_visible()
    page.get_by_label("6-digit code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_test_id("mfa-confirm").click()
    shown = page.get_by_test_id("recovery-codes").locator("li")
    expect(shown).to_have_count(10)
    expect(page.locator("#mfa-codes-title")).to_be_focused()
    codes = [c.strip() for c in shown.all_text_contents()]
    with page.expect_download() as download:
        page.get_by_test_id("mfa-download").click()
    downloads.append(download.value)
    saved = Path(downloads[0].path()).read_text()
    assert all(c in saved for c in codes)
    assert overflow(page) <= 1
    problems += run_axe(page)
    page.screenshot(path=str(screenshot_dir / "security-codes-narrow.png"), full_page=True)
    assert not problems, describe_violations(problems)
    page.get_by_test_id("mfa-done").click()
    page.wait_for_url("**/doctor/dashboard")
    expect(page.get_by_test_id("doctor-dashboard")).to_be_visible()
    # Shown once: coming back shows the count, never the codes.
    page.goto("/account/security")
    expect(page.get_by_test_id("recovery-left")).to_contain_text("10 unused recovery codes")
    expect(page.get_by_test_id("recovery-codes")).to_have_count(0)
    assert all(c not in (page.content()) for c in codes)


# ----- the page CSP ------------------------------------------------------------------------

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""


def watched(context: BrowserContext) -> tuple[Page, list[str]]:
    page = context.new_page()
    page.add_init_script(WATCH_CSP)
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None,
    )
    return page, console


def assert_no_violation(page: Page, console: list[str], where: str) -> None:
    page.wait_for_load_state("networkidle")
    reported = page.evaluate("window.__csp")
    assert not reported and not console, f"{where}: {reported} {console}"


def check_policy(header: str) -> None:
    directives = {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert any(s.startswith("'sha256-") for s in directives["script-src"])
    assert directives["connect-src"] == ["'self'"]


def test_every_page_runs_under_the_csp_and_the_chat_socket_connects(contexts: Contexts) -> None:
    doctor_context, patient_context = contexts.new(), contexts.new()
    doctor = ApiUser(doctor_context, "doctor", "Dr Rita Levi-Montalcini")
    api_enrol(doctor)
    patient = ApiUser(patient_context, "patient", "Marie Curie")
    api_open_every_hour(doctor)
    appointment = api_book_first_slot(patient, doctor.user["id"], "A cough")

    visitor, console = watched(contexts.new())
    for path, ready in (("/", None), ("/login", "login-form"), ("/register", None), ("/no-such-page", None)):
        response = visitor.goto(path)
        assert response is not None
        check_policy(response.headers["content-security-policy"])
        if ready:
            expect(visitor.get_by_test_id(ready)).to_be_visible()
        assert_no_violation(visitor, console, path)

    page, console = watched(patient_context)
    for path, ready in (("/patient/dashboard", "patient-dashboard"), ("/account/security", "mfa-off")):
        response = page.goto(path)
        assert response is not None
        check_policy(response.headers["content-security-policy"])
        expect(page.get_by_test_id(ready)).to_be_visible()
        assert_no_violation(page, console, path)

    doctor_page, doctor_console = watched(doctor_context)
    response = doctor_page.goto("/doctor/dashboard")
    assert response is not None
    check_policy(response.headers["content-security-policy"])
    expect(doctor_page.get_by_test_id("waiting-now")).to_be_visible()
    assert_no_violation(doctor_page, doctor_console, "/doctor/dashboard")

    patient.call("POST", f"/consultations/{appointment['id']}/check-in")
    doctor.call("POST", f"/consultations/{appointment['id']}/start")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"/consultation/{appointment['id']}")
    expect(page.get_by_test_id("chat-window")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Hello under a strict policy")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator("[data-testid=chat-message][data-status=sent]")).to_have_count(1)
    assert sockets and all(urlparse(u).netloc == urlparse(page.url).netloc for u in sockets), sockets
    assert_no_violation(page, console, "consultation")
