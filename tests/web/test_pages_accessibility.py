"""Every page passes axe-core (no serious or critical violations) in light and dark mode (the
system setting) and is photographed at phone (390x844) and desktop (1280x800) sizes, in both
modes, into the folder the run prints.

Fixture assumed from tests/conftest.py: ``live_server_url`` (see tests/web/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.web.conftest import DESKTOP, PHONE, Contexts, describe_violations, run_axe
from tests.web.people import ApiUser, api_book_first_slot, api_open_every_hour

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def check_page(page: Page, name: str, ready_test_id: str, folder: Path, problems: list[str]) -> None:
    scheme = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'")
    if scheme == "dark":
        name = f"{name}-dark"
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        expect(page.get_by_test_id(ready_test_id).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        # Nothing sticks out sideways on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 1:
            problems.append(f"{name} at {label}: the page is {overflow}px wider than the screen")
        violations = run_axe(page)
        if violations:
            problems.append(f"{name} at {label}:\n{describe_violations(violations)}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_is_accessible_and_photographed(contexts: Contexts, screenshot_dir: Path, scheme: str) -> None:
    problems: list[str] = []
    visitor = contexts.new(color_scheme=scheme).new_page()
    visitor.goto("/login")
    check_page(visitor, "login", "login-form", screenshot_dir, problems)
    # A failed sign-in shows the error in words; photograph and check that state too.
    visitor.get_by_label("Email").fill("nobody@example.test")
    visitor.get_by_label("Password").fill("wrong password here")
    visitor.get_by_test_id("login-submit").click()
    expect(visitor.get_by_test_id("error")).to_be_visible()
    check_page(visitor, "login-error", "error", screenshot_dir, problems)
    visitor.goto("/register")
    visitor.get_by_test_id("role-doctor").check()
    check_page(visitor, "register-doctor", "doctor-fields", screenshot_dir, problems)

    doctor_context = contexts.new(color_scheme=scheme)
    patient_context = contexts.new(color_scheme=scheme)
    doctor = ApiUser(doctor_context, "doctor", "Dr Rosalind Franklin")
    patient = ApiUser(patient_context, "patient", "Katherine Johnson")
    api_open_every_hour(doctor)
    appointment = api_book_first_slot(patient, doctor.user["id"], "A rash on my arm")
    consultation = f"/consultation/{appointment['id']}"

    patient_page = patient_context.new_page()
    patient_page.goto("/patient/dashboard")
    expect(patient_page.get_by_test_id("appointment-row")).to_have_count(1)
    patient_page.locator(f"[data-testid=doctor-card][data-doctor-id='{doctor.user['id']}']").get_by_test_id(
        "doctor-choose"
    ).click()
    expect(patient_page.get_by_test_id("slot").first).to_be_visible()
    check_page(patient_page, "patient-dashboard", "patient-dashboard", screenshot_dir, problems)

    patient_page.goto(consultation)
    check_page(patient_page, "consultation-patient-before", "intake-form", screenshot_dir, problems)
    patient.call("POST", f"/consultations/{appointment['id']}/check-in")
    patient_page.reload()
    # The waiting room's chat is open: a message written there is part of the photograph.
    patient_page.get_by_label("Message", exact=True).fill("I'm in the waiting room. Photos: https://example.org/rash")
    patient_page.get_by_label("Message", exact=True).press("Enter")
    expect(patient_page.get_by_test_id("chat-message")).to_have_attribute("data-status", "sent")
    check_page(patient_page, "consultation-patient-waiting", "waiting-room", screenshot_dir, problems)

    doctor_page = doctor_context.new_page()
    doctor_page.goto("/doctor/dashboard")
    expect(doctor_page.get_by_test_id("waiting-list").get_by_test_id("appointment-row")).to_have_count(1)
    check_page(doctor_page, "doctor-dashboard", "doctor-dashboard", screenshot_dir, problems)
    doctor_page.get_by_test_id("availability-link").click()
    expect(doctor_page.get_by_test_id("availability-form")).to_be_visible()
    check_page(doctor_page, "doctor-availability", "availability-form", screenshot_dir, problems)

    doctor_page.goto(consultation)
    doctor_page.get_by_test_id("admit").click()
    expect(patient_page.get_by_test_id("consultation-status")).to_have_attribute("data-status", "in_progress")
    patient_page.get_by_label("Message", exact=True).fill("Hello, the rash is itchy.")
    patient_page.get_by_label("Message", exact=True).press("Enter")
    expect(doctor_page.get_by_test_id("chat-message")).to_have_count(2)
    check_page(doctor_page, "consultation-doctor", "doctor-workspace", screenshot_dir, problems)
    check_page(patient_page, "consultation-patient-chat", "chat-window", screenshot_dir, problems)

    doctor_page.get_by_test_id("summary-input").fill("Use the cream twice a day for a week.")
    expect(doctor_page.get_by_test_id("summary-status")).to_have_attribute("data-state", "saved")
    doctor_page.get_by_test_id("complete").click()
    expect(patient_page.get_by_test_id("summary-text")).to_contain_text("cream twice a day")
    check_page(patient_page, "consultation-patient-summary", "summary", screenshot_dir, problems)

    # A deep link to a consultation that does not exist says so in words.
    patient_page.goto("/consultation/00000000-0000-0000-0000-000000000000")
    expect(patient_page.get_by_test_id("error")).to_be_visible()
    check_page(patient_page, "consultation-missing", "error", screenshot_dir, problems)

    # Dark mode is really dark: the page's background is not the light one.
    red, green, blue = patient_page.evaluate(
        """() => { const c = document.createElement('canvas').getContext('2d');
        c.fillStyle = getComputedStyle(document.body).backgroundColor; c.fillRect(0, 0, 1, 1);
        return Array.from(c.getImageData(0, 0, 1, 1).data.slice(0, 3)); }"""
    )
    brightness = (red + green + blue) / 3
    assert (brightness > 200) if scheme == "light" else (brightness < 50), (scheme, red, green, blue)

    assert not problems, "\n\n".join(problems)
    assert sorted(p.name for p in screenshot_dir.glob("*.png"))
