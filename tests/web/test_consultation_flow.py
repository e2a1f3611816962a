"""The whole visit in two real browsers: a doctor and a patient, live.

Fixture assumed from tests/conftest.py: ``live_server_url`` (see tests/web/conftest.py): a real
``careconnect serve`` on an ephemeral port, fresh SQLite database, serving web/out, /api/v1, /ws.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Contexts, console_errors
from tests.web.people import assert_once_in_order, book_first_slot, messages, open_every_hour, register_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def test_doctor_and_patient_run_a_whole_visit(contexts: Contexts) -> None:
    doctor_page = contexts.new(timezone_id="UTC").new_page()
    patient_page = contexts.new(timezone_id="America/New_York").new_page()
    doctor_errors = console_errors(doctor_page)
    patient_errors = console_errors(patient_page)

    # Register both; the doctor opens every hour of every day.
    suffix = str(time.time_ns())[-6:]
    doctor = register_in_browser(doctor_page, "doctor", f"Dr Grace Hopper {suffix}", specialty="Cardiology")
    patient = register_in_browser(patient_page, "patient", f"Alan Turing {suffix}")
    open_every_hour(doctor_page)

    # The patient books the first free slot, shown in their own time zone.
    expect(patient_page.get_by_test_id("upcoming")).to_be_visible()
    consultation = book_first_slot(patient_page, doctor, "Chest pain when running", zone="America/New York")

    # Intake, then check-in: the patient is in the waiting room.
    patient_page.goto(consultation)
    intake = patient_page.get_by_test_id("intake-form")
    # The reason given when booking is not asked again.
    expect(intake.get_by_test_id("intake-reason")).to_contain_text("Chest pain when running")
    intake.get_by_label("Symptoms").fill("pain when running\nshort of breath")
    intake.get_by_label("For how long?").fill("2 weeks")
    intake.get_by_label("Allergies").fill("penicillin")
    patient_page.get_by_test_id("intake-consent").check()
    patient_page.get_by_test_id("intake-submit").click()
    expect(patient_page.get_by_test_id("intake-saved")).to_be_visible()
    patient_page.get_by_test_id("check-in").click()
    expect(patient_page.get_by_test_id("waiting-room")).to_be_visible()

    # The doctor's dashboard shows who is waiting, live (no reload).
    waiting = doctor_page.get_by_test_id("waiting-list").get_by_test_id("appointment-row").filter(has_text=patient.name)
    expect(waiting).to_have_attribute("data-status", "checked_in", timeout=15_000)
    waiting.get_by_test_id("appointment-open").click()
    doctor_page.wait_for_url(f"**{consultation}")
    expect(doctor_page.get_by_test_id("intake-view")).to_contain_text("Chest pain")
    expect(doctor_page.get_by_test_id("intake-view")).to_contain_text("penicillin")
    expect(doctor_page.get_by_test_id("patient-history")).to_be_visible()

    # Admit: the patient's waiting room turns into the chat by itself.
    doctor_page.get_by_test_id("admit").click()
    expect(patient_page.get_by_test_id("chat-window")).to_be_visible(timeout=15_000)
    expect(patient_page.get_by_test_id("waiting-room")).to_have_count(0)
    expect(patient_page.get_by_test_id("connection-state")).to_have_attribute("data-state", "open")

    # A chat in both directions, each side seeing the other's message live.
    patient_page.get_by_label("Message", exact=True).fill("Hello doctor, it hurts when I run.")
    patient_page.get_by_label("Message", exact=True).press("Enter")
    expect(doctor_page.get_by_test_id("chat-message").filter(has_text="it hurts when I run")).to_be_visible()
    mine = patient_page.get_by_test_id("chat-message").filter(has_text="it hurts when I run")
    expect(mine).to_have_attribute("data-status", "sent")
    doctor_page.get_by_label("Message", exact=True).fill("How long does the pain last?")
    doctor_page.get_by_test_id("chat-send").click()
    expect(patient_page.get_by_test_id("chat-message").filter(has_text="How long does the pain last?")).to_be_visible()

    # Presence: each sees the other online.
    expect(patient_page.get_by_test_id("presence-member").filter(has_text=doctor.name)).to_have_attribute(
        "data-online", "true"
    )
    expect(doctor_page.get_by_test_id("presence-member").filter(has_text=patient.name)).to_have_attribute(
        "data-online", "true"
    )

    # A reload in the middle of the chat keeps the session and the history.
    patient_page.reload()
    expect(patient_page.get_by_test_id("chat-window")).to_be_visible()
    assert "/login" not in patient_page.url
    expect(patient_page.get_by_test_id("chat-message")).to_have_count(2)
    assert_once_in_order(patient_page, ["Hello doctor, it hurts when I run.", "How long does the pain last?"])

    # The network drops: the badge says so and nobody shows as online; what was sent meanwhile
    # arrives once, in order, on both sides, and the badge goes back to "Live".
    patient_page.context.set_offline(True)
    expect(patient_page.get_by_test_id("connection-state")).to_have_attribute("data-state", "offline")
    expect(patient_page.get_by_test_id("connection-state")).to_contain_text("Offline")
    expect(patient_page.locator("[data-testid=presence-member][data-online=true]")).to_have_count(0)
    patient_page.get_by_label("Message", exact=True).fill("About ten minutes each time.")
    patient_page.get_by_label("Message", exact=True).press("Enter")
    doctor_page.get_by_label("Message", exact=True).fill("Any pain at rest?")
    doctor_page.get_by_test_id("chat-send").click()
    patient_page.context.set_offline(False)
    expect(patient_page.get_by_test_id("connection-state")).to_have_text("Live", timeout=20_000)
    expect(patient_page.get_by_test_id("presence-member").filter(has_text=doctor.name)).to_have_attribute(
        "data-online", "true"
    )
    expect(patient_page.get_by_test_id("connection-state")).to_have_attribute("data-state", "open", timeout=20_000)
    for page in (patient_page, doctor_page):
        expect(page.get_by_test_id("chat-message")).to_have_count(4, timeout=20_000)
        expect(page.locator("[data-testid=chat-message][data-status=sending]")).to_have_count(0)
        # The two sent during the outage may land in either order; each is shown exactly once.
        assert_once_in_order(
            page, ["Hello doctor, it hurts when I run.", "How long does the pain last?", "About ten minutes each time."]
        )
        assert_once_in_order(page, ["How long does the pain last?", "Any pain at rest?"])
    # Both see the server's order.
    assert [m["body"] for m in messages(patient_page)] == [m["body"] for m in messages(doctor_page)]

    # Private notes autosave; the summary is written for the patient.
    doctor_page.get_by_test_id("notes-input").fill("Exertional chest pain, 2 weeks. Order ECG.")
    expect(doctor_page.get_by_test_id("notes-status")).to_have_attribute("data-state", "saved", timeout=15_000)
    doctor_page.get_by_test_id("summary-input").fill("Please book an ECG this week. Avoid running until then.")
    expect(doctor_page.get_by_test_id("summary-status")).to_have_attribute("data-state", "saved", timeout=15_000)
    doctor_page.reload()
    expect(doctor_page.get_by_test_id("notes-input")).to_have_value("Exertional chest pain, 2 weeks. Order ECG.")

    # Complete: the room becomes read-only and the patient reads the summary.
    doctor_page.get_by_test_id("complete").click()
    expect(doctor_page.get_by_test_id("consultation-status")).to_have_attribute("data-status", "completed")
    expect(doctor_page.get_by_test_id("chat-closed")).to_be_visible()
    expect(patient_page.get_by_test_id("summary-text")).to_contain_text("Please book an ECG this week", timeout=15_000)
    expect(patient_page.get_by_test_id("chat-closed")).to_be_visible()
    # The patient never sees the private notes.
    assert "Order ECG" not in patient_page.content()

    # After a reload the summary is still there, and the visit is in the patient's past visits.
    patient_page.reload()
    expect(patient_page.get_by_test_id("summary-text")).to_contain_text("Please book an ECG this week")
    patient_page.goto("/patient/dashboard")
    expect(
        patient_page.get_by_test_id("past").get_by_test_id("appointment-row").filter(has_text="Chest pain when running")
    ).to_have_attribute("data-status", "completed")

    assert doctor_errors == [] and patient_errors == [], (doctor_errors, patient_errors)


def test_logout_in_one_tab_ends_the_session_in_the_others(contexts: Contexts) -> None:
    context = contexts.new()
    first = context.new_page()
    register_in_browser(first, "patient", "Ada Lovelace")
    second = context.new_page()
    second.goto("/patient/dashboard")
    expect(second.get_by_test_id("patient-dashboard")).to_be_visible()
    # Both tabs restored or shared the session without revoking it: a third load still works.
    third = context.new_page()
    third.goto("/patient/dashboard")
    expect(third.get_by_test_id("patient-dashboard")).to_be_visible()

    first.get_by_test_id("logout").click()
    first.wait_for_url("**/login**")
    second.wait_for_url("**/login**")
    # The other tabs say why; the tab that signed out needs no explanation.
    expect(second.get_by_test_id("session-ended")).to_have_text("You signed out in another tab.")
    expect(first.get_by_test_id("session-ended")).to_have_count(0)
    third.wait_for_url("**/login**")
    third.reload()
    expect(third.get_by_test_id("login-form")).to_be_visible()
