"""The bell in a real browser: a notification pushed while the doctor's tab is hidden raises the
bell's count and the title badge ("(1) …"); showing the tab again clears the badge."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Contexts, console_errors
from tests.web.people import ApiUser, api_book_first_slot, api_open_every_hour

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

HIDDEN = """
window.__hidden = false;
Object.defineProperty(document, "visibilityState", { get: () => (window.__hidden ? "hidden" : "visible") });
Object.defineProperty(document, "hidden", { get: () => window.__hidden });
"""


def set_hidden(page, hidden: bool) -> None:
    page.evaluate("(h) => { window.__hidden = h; document.dispatchEvent(new Event('visibilitychange')); }", hidden)


def test_a_notification_while_hidden_raises_the_count_and_the_title_badge(contexts: Contexts) -> None:
    doctor_context = contexts.new()
    doctor_context.add_init_script(HIDDEN)
    doctor = ApiUser(doctor_context, "doctor", "Dr Bell")
    api_open_every_hour(doctor)
    page = doctor_context.new_page()
    errors = console_errors(page)
    page.goto("/doctor/dashboard")
    expect(page.get_by_test_id("bell-count")).to_have_text("0")
    page.wait_for_timeout(1500)  # the hub socket is open (the bell's subscription)
    set_hidden(page, True)

    patient = ApiUser(contexts.new(), "patient", "Pat Bell")
    api_book_first_slot(patient, doctor.user["id"], "Checkup")

    expect(page.get_by_test_id("bell-count")).to_have_text("1", timeout=15000)
    assert page.title().startswith("(1) "), page.title()
    set_hidden(page, False)
    page.wait_for_timeout(300)
    assert not page.title().startswith("("), page.title()
    page.get_by_test_id("bell").click()
    expect(page.get_by_test_id("bell-list")).to_contain_text("New booking: Pat Bell")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_test_id("bell-count")).to_have_text("0")
    assert errors == [], errors
