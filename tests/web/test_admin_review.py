"""Doctor vetting in the browser: under DOCTOR_REGISTRATION=review an admin signs in (on a 360 px
phone), approves the pending doctor on /admin, the row goes, and patients now find the doctor."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.live import LiveServer, served
from tests.web.conftest import PASSWORD, Contexts, describe_violations, run_axe, unique_email
from tests.web.people import ApiUser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

SMALL_PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("review"), DOCTOR_REGISTRATION="review") as server:
        yield server


@pytest.fixture(scope="module")
def live_server_url(review_server: LiveServer) -> str:
    """The browser fixtures (tests/web/conftest.py) talk to the review-mode server."""
    return review_server.url


def create_admin(server: LiveServer) -> str:
    address = unique_email("admin")
    result = subprocess.run(
        [sys.executable, "-m", "careconnect", "create-admin", "--email", address, "--password", PASSWORD],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return address


def test_admin_approves_a_pending_doctor_who_then_appears_in_the_search(
    contexts: Contexts, review_server: LiveServer, screenshot_dir: Path
) -> None:
    name = "Dr Barbara McClintock"
    doctor_context = contexts.new()
    doctor_email = unique_email("doctor")
    registered = doctor_context.request.post(
        "/api/v1/auth/register",
        data={
            "email": doctor_email,
            "password": PASSWORD,
            "full_name": name,
            "role": "doctor",
            "timezone": "UTC",
            "doctor": {"specialty": "Genetics", "license_number": "LIC-1983"},
        },
    )
    assert registered.ok, registered.text()
    assert registered.json()["doctor"]["verification"] == "pending"

    # A patient does not find the doctor yet.
    patient_context = contexts.new()
    ApiUser(patient_context, "patient", "Rachel Carson")
    patient_page = patient_context.new_page()
    patient_page.goto("/patient/dashboard")
    patient_page.get_by_label("Name or keyword").fill("McClintock")
    patient_page.get_by_test_id("doctor-search-submit").click()
    expect(patient_page.get_by_test_id("doctor-card").filter(has_text=name)).to_have_count(0)

    # The admin signs in on a small phone and lands on the review queue.
    admin_email = create_admin(review_server)
    admin_page = contexts.new(viewport=SMALL_PHONE).new_page()
    admin_page.goto("/login")
    admin_page.get_by_label("Email").fill(admin_email)
    admin_page.get_by_label("Password").fill(PASSWORD)
    admin_page.get_by_test_id("login-submit").click()
    admin_page.wait_for_url("**/admin")
    row = admin_page.get_by_test_id("review-row").filter(has_text=name)
    expect(row).to_be_visible()
    expect(row).to_contain_text(doctor_email)
    expect(row).to_contain_text("Genetics")
    expect(row.get_by_test_id("review-license")).to_have_text("LIC-1983")
    admin_page.wait_for_load_state("networkidle")
    admin_page.screenshot(path=str(screenshot_dir / "admin-review-phone.png"), full_page=True)
    overflow = admin_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the admin page is {overflow}px wider than a 360 px screen"
    violations = run_axe(admin_page)
    assert not violations, describe_violations(violations)

    # Approve by keyboard: the row goes and focus lands on the outcome.
    approve = row.get_by_role("button", name=f"Approve {name}")
    approve.focus()
    admin_page.keyboard.press("Enter")
    expect(admin_page.get_by_test_id("review-row").filter(has_text=name)).to_have_count(0)
    notice = admin_page.get_by_test_id("notice")
    expect(notice).to_have_text(f"Approved {name}.")
    expect(notice).to_be_focused()
    admin_page.reload()
    expect(admin_page.get_by_test_id("review-empty")).to_be_visible()

    # Now the patient finds the doctor.
    patient_page.reload()
    patient_page.get_by_label("Name or keyword").fill("McClintock")
    patient_page.get_by_test_id("doctor-search-submit").click()
    expect(patient_page.get_by_test_id("doctor-card").filter(has_text=name)).to_have_count(1)


def test_a_patient_turns_history_sharing_on_and_off(contexts: Contexts) -> None:
    context = contexts.new(viewport=SMALL_PHONE)
    patient = ApiUser(context, "patient", "Mary Anning")
    page = context.new_page()
    page.goto("/patient/dashboard")
    box = page.get_by_label("Let each doctor I have a visit with see my visits with other doctors")
    expect(box).not_to_be_checked()
    box.check()
    expect(box).to_be_checked()
    expect(box).to_be_enabled()
    assert patient.call("GET", "/users/me")["patient"] == {"share_history": True}
    page.reload()
    expect(box).to_be_checked()
    box.uncheck()
    expect(box).to_be_enabled()
    expect(box).not_to_be_checked()
    assert patient.call("GET", "/users/me")["patient"] == {"share_history": False}
