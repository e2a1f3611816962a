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


RECORD_DESKTOP = """
window.__desktop = [];
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) { window.__desktop.push(title); super(title, options); }
  };
}
"""


def test_a_chat_message_while_hidden_raises_the_title_badge_and_a_desktop_notification(contexts: Contexts) -> None:
    doctor = ApiUser(contexts.new(), "doctor", "Dr Chat Bell")
    api_open_every_hour(doctor)
    patient_context = contexts.new()
    patient_context.grant_permissions(["notifications"])
    patient_context.add_init_script(HIDDEN)
    patient_context.add_init_script(RECORD_DESKTOP)
    patient = ApiUser(patient_context, "patient", "Pat Chat Bell")
    visit = api_book_first_slot(patient, doctor.user["id"], "Checkup")
    patient.call("POST", f"/consultations/{visit['id']}/check-in")
    doctor.call("POST", f"/consultations/{visit['id']}/start")

    page = patient_context.new_page()
    errors = console_errors(page)
    page.goto(f"/consultation/{visit['id']}")
    expect(page.get_by_test_id("chat-window")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("presence-member").first).to_be_visible()
    page.wait_for_timeout(1000)  # joined the room
    set_hidden(page, True)
    title = page.title()

    doctor_page = doctor.context.new_page()
    doctor_page.goto(f"/consultation/{visit['id']}")
    doctor_page.get_by_test_id("chat-input").fill("Are you there?")
    doctor_page.get_by_test_id("chat-send").click()

    expect(page.get_by_test_id("chat-message").filter(has_text="Are you there?")).to_be_visible(timeout=15_000)
    page.wait_for_function("() => document.title.startsWith('(1) ')", timeout=15_000)
    assert page.evaluate("window.__desktop") == ["New message from Dr Chat Bell"]
    set_hidden(page, False)
    page.wait_for_function("() => !document.title.startsWith('(')", timeout=5_000)
    assert page.title() == title
    assert errors == [], errors
