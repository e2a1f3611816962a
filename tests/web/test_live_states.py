"""The live parts of a visit as people meet them (issue 18): the waiting room's chat and queue,
the doctor's presence from the dashboard, the next-patient banner, the chat's grouping, links and
"Seen", drafts that outlive an expired session, and anonymous pages without a 401.

Fixture assumed from tests/conftest.py: ``live_server_url`` (see tests/web/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import PASSWORD, Contexts, console_errors
from tests.web.people import ApiUser

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def open_slots_starting_now(doctor: ApiUser) -> None:
    """Today's hours start within two minutes (UTC, 10-minute slots, no notice), so the first two
    slots both open for check-in now (check-in opens 15 minutes before a start)."""
    now = dt.datetime.now(dt.UTC)
    start = (now + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    end = start + dt.timedelta(minutes=40)
    if end.date() != start.date():
        pytest.skip("too close to midnight UTC for today's hours")
    doctor.call(
        "PUT",
        "/doctors/me/availability",
        {
            "timezone": "UTC",
            "slot_minutes": 10,
            "min_notice_minutes": 0,
            "horizon_days": 2,
            "weekly": [{"weekday": start.weekday(), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}],
            "exceptions": [],
        },
    )


def book_and_check_in(patient: ApiUser, doctor: ApiUser, reason: str, *, index: int = 0) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    window = f"from={(now + dt.timedelta(minutes=1)).isoformat().replace('+00:00', 'Z')}&to={(now + dt.timedelta(hours=3)).isoformat().replace('+00:00', 'Z')}"
    slots = patient.call("GET", f"/doctors/{doctor.user['id']}/slots?{window}")["slots"]
    appointment = patient.call(
        "POST",
        "/appointments",
        {"doctor_id": doctor.user["id"], "starts_at": slots[index]["starts_at"], "reason": reason},
        headers={"Idempotency-Key": f"live-{reason}-{now.timestamp()}"},
    )
    patient.call("POST", f"/consultations/{appointment['id']}/check-in")
    return appointment


def say(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")


def test_the_waiting_room_chats_knows_its_place_and_sees_the_doctor_on_the_dashboard(contexts: Contexts) -> None:
    doctor_context, patient_context, other_context = contexts.new(), contexts.new(), contexts.new()
    doctor = ApiUser(doctor_context, "doctor", "Dr Mary Somerville")
    patient = ApiUser(patient_context, "patient", "Ada Byron")
    other = ApiUser(other_context, "patient", "Charles Babbage")
    open_slots_starting_now(doctor)
    visit = book_and_check_in(patient, doctor, "A sore throat")
    consultation = f"/consultation/{visit['id']}"

    # The doctor is on the dashboard only: the waiting patient sees them online, and is next.
    doctor_page = doctor_context.new_page()
    doctor_errors = console_errors(doctor_page)
    doctor_page.goto("/doctor/dashboard")
    expect(doctor_page.get_by_test_id("doctor-dashboard")).to_be_visible()
    patient_page = patient_context.new_page()
    patient_errors = console_errors(patient_page)
    patient_page.goto(consultation)
    expect(patient_page.get_by_test_id("waiting-room")).to_be_visible()
    expect(patient_page.get_by_test_id("queue-position")).to_have_text("You are next.")
    presence = patient_page.get_by_test_id("doctor-presence")
    expect(presence).to_have_attribute("data-online", "true", timeout=15_000)
    expect(presence).to_have_text("Dr Mary Somerville is online.")

    # The patient writes from the waiting room; links are links only for http(s).
    expect(patient_page.get_by_test_id("chat-form")).to_be_visible()
    say(patient_page, "Hello, I am here. My results: https://example.org/results?id=7. Not this: javascript:alert(1)")
    say(patient_page, "And a second line a moment later")
    mine = patient_page.get_by_test_id("chat-message")
    expect(mine).to_have_count(2)
    expect(mine.nth(1)).to_have_attribute("data-continues", "true")
    expect(mine.nth(0)).to_have_attribute("data-continues", "false")
    expect(patient_page.get_by_test_id("chat-day")).to_have_count(1)
    link = patient_page.get_by_test_id("chat-link")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://example.org/results?id=7")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    assert patient_page.locator("a[href^='javascript']").count() == 0

    # The doctor opens the visit, reads, and answers "running late" before admitting.
    doctor_reads: list[float] = []

    def watch(socket: Any) -> None:
        socket.on(
            "framesent",
            lambda payload: doctor_reads.append(time.monotonic()) if '"type":"read"' in str(payload) else None,
        )

    doctor_page.on("websocket", watch)
    doctor_page.goto(consultation)
    expect(doctor_page.get_by_test_id("chat-message")).to_have_count(2)
    say(doctor_page, "Running 5 minutes late, sorry")
    expect(patient_page.get_by_test_id("chat-message").filter(has_text="Running 5 minutes late")).to_be_visible()
    # One "Seen", under the patient's newest message.
    expect(patient_page.get_by_test_id("chat-seen")).to_have_count(1)
    expect(patient_page.locator("[data-testid=chat-message] + [data-testid=chat-seen]")).to_have_count(1)

    # "Seen" survives a reload (the marks this tab heard are kept in its sessionStorage), and
    # reaches a fresh tab with none stored: its first read mark is no news to the doctor's
    # client, which answers with its own.
    patient_page.reload()
    expect(patient_page.get_by_test_id("chat-message")).to_have_count(3)
    expect(patient_page.get_by_test_id("chat-seen")).to_have_count(1)
    patient_page.wait_for_timeout(2_000)  # a new tab a moment later (answers are spaced 1.5 s apart)
    fresh = patient_context.new_page()
    fresh.goto(consultation)
    expect(fresh.get_by_test_id("chat-message")).to_have_count(3)
    expect(fresh.get_by_test_id("chat-seen")).to_have_count(1, timeout=15_000)
    # ...and the answering dies down: no read frames keep going back and forth between tabs.
    fresh.wait_for_timeout(1_000)
    quiet_from = time.monotonic()
    fresh.wait_for_timeout(4_000)
    assert [t for t in doctor_reads if t > quiet_from] == [], len(doctor_reads)
    assert 1 <= len(doctor_reads) < 10, len(doctor_reads)
    fresh.close()

    # Another patient checks in: the doctor, inside this visit, sees a banner; that patient is
    # second in the queue.
    second = book_and_check_in(other, doctor, "A cough")  # the next free slot, 10 minutes later
    banner = doctor_page.get_by_test_id("next-patient-banner")
    expect(banner).to_contain_text("Charles Babbage", timeout=20_000)
    other_page = other_context.new_page()
    other_page.goto(f"/consultation/{second['id']}")
    expect(other_page.get_by_test_id("queue-position")).to_have_text("1 patient is before you.")

    # Admitted mid-sentence: the first patient's chat carries on in the same message box, which
    # keeps what they typed and the focus (admission does not remount it), so the Enter they
    # press next sends it; the second patient's doctor is busy.
    box = patient_page.get_by_label("Message", exact=True)
    box.fill("Half a sentence")
    box.evaluate("el => { el.dataset.before = 'admission'; }")
    doctor_page.get_by_test_id("admit").click()
    expect(patient_page.get_by_test_id("waiting-room")).to_have_count(0, timeout=15_000)
    expect(patient_page.get_by_test_id("consultation-status")).to_have_attribute("data-status", "in_progress")
    expect(box).to_have_attribute("data-before", "admission")  # the very element, not a new one
    expect(box).to_have_value("Half a sentence")
    expect(box).to_be_focused()
    patient_page.keyboard.press("Enter")
    expect(doctor_page.get_by_test_id("chat-message")).to_have_count(4)
    expect(patient_page.get_by_test_id("chat-message")).to_have_count(4)
    other_page.reload()
    expect(other_page.get_by_test_id("doctor-presence")).to_have_text("Dr Mary Somerville is with another patient.")
    expect(other_page.get_by_test_id("queue-position")).to_have_text("You are next.")
    assert doctor_errors == [] and patient_errors == [], (doctor_errors, patient_errors)


def test_drafts_survive_an_expired_session_and_the_login_page_says_why(contexts: Contexts) -> None:
    doctor_context, patient_context = contexts.new(), contexts.new()
    doctor = ApiUser(doctor_context, "doctor", "Dr Emmy Noether")
    patient = ApiUser(patient_context, "patient", "Sophie Germain")
    open_slots_starting_now(doctor)
    visit = book_and_check_in(patient, doctor, "Back pain")
    consultation = f"/consultation/{visit['id']}"

    page = patient_context.new_page()
    page.goto(consultation)
    intake = page.get_by_test_id("intake-form")
    # The reason given when booking is the main reason (not asked again); the rest is typed here.
    intake.get_by_label("Symptoms").fill("Lower back pain")
    intake.get_by_label("Allergies").fill("latex")
    page.get_by_label("Message", exact=True).fill("I typed this before my session ended")

    # The server ends the session (the refresh family is revoked; its access token stops working).
    revoked = patient_context.request.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {patient.token}"})
    assert revoked.status == 204
    page.wait_for_url("**/login**", timeout=30_000)
    expect(page.get_by_test_id("session-ended")).to_have_text("Your session expired, sign in again.")

    page.get_by_label("Email").fill(patient.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"**{consultation}")
    intake = page.get_by_test_id("intake-form")
    expect(intake.get_by_label("Symptoms")).to_have_value("Lower back pain")
    expect(intake.get_by_label("Allergies")).to_have_value("latex")
    expect(page.get_by_test_id("intake-draft-restored")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_have_value("I typed this before my session ended")

    # Sent, the chat draft is gone for good; saved, so is the intake's.
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.get_by_test_id("chat-message")).to_have_count(1)
    page.get_by_test_id("intake-consent").check()
    page.get_by_test_id("intake-submit").click()
    expect(page.get_by_test_id("intake-saved")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    expect(page.get_by_test_id("intake-draft-restored")).to_have_count(0)

    # The doctor's view of the intake puts the allergy first, in its own box.
    doctor_page = doctor_context.new_page()
    doctor_page.goto(consultation)
    expect(doctor_page.get_by_test_id("intake-allergies-alert")).to_have_text("⚠ Allergies: latex")


def test_anonymous_pages_log_no_401_and_the_favicon_loads(contexts: Contexts) -> None:
    page = contexts.new().new_page()
    logged: list[str] = []
    page.on("console", lambda message: logged.append(f"{message.type}: {message.text}"))
    failed: list[str] = []
    page.on(
        "response",
        lambda response: failed.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    errors = console_errors(page)
    for path in ("/login", "/register", "/forgot-password"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert failed == [], failed
    assert [line for line in logged if line.startswith("error")] == [], logged
    assert errors == []
    icon = page.request.get("/favicon.ico")
    assert icon.ok and icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
