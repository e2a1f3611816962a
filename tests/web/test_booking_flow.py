"""Booking on a phone and on a desktop, a time taken meanwhile, errors in plain words, and the
check-in button that waits (with a live countdown) until check-in opens, in Chromium.

Fixture assumed from tests/conftest.py: ``live_server_url`` (see tests/web/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from careconnect.domain.appointments.service import CHECK_IN_OPENS, NO_SHOW_AFTER
from tests.web.conftest import PHONE, Contexts, describe_violations, run_axe
from tests.web.people import ApiUser, api_open_every_hour

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WIDE = {"width": 1440, "height": 900}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(WIDE, id="desktop")]
WEB_RULES = Path(__file__).resolve().parents[2] / "web" / "lib" / "visitRules.ts"
# Developer words that must never reach a patient's screen.
TECHNICAL = re.compile(
    r"Unprocessable|Expected `|regex|\^\[|\$\.|\b(GET|POST|PUT|PATCH|DELETE) /|/api/v1|\{id\}|request_id|Bearer"
)


def zulu(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def free_slots(user: ApiUser, doctor_id: str, *, after_minutes: int = 1) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    start, end = now + dt.timedelta(minutes=after_minutes), now + dt.timedelta(days=6)
    return user.call("GET", f"/doctors/{doctor_id}/slots?from={zulu(start)}&to={zulu(end)}")["slots"]


def in_viewport(page: Page, test_id: str) -> bool:
    box = page.get_by_test_id(test_id).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 1


def in_viewport_box(page: Page, box: dict[str, float] | None) -> bool:
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 1


def assert_plain(page: Page) -> None:
    text = page.locator("main").inner_text()
    found = TECHNICAL.search(text)
    assert found is None, f"developer text on the page: {found.group(0)!r} in {text!r}"


def shoot(page: Page, folder: Path, name: str) -> None:
    """Into the run's screenshot folder (docs/screenshots/ holds copies of them)."""
    page.screenshot(path=str(folder / f"{name}.png"))


def test_the_web_rules_match_the_server() -> None:
    rules = WEB_RULES.read_text(encoding="utf-8")
    assert f"CHECK_IN_OPENS_MINUTES = {int(CHECK_IN_OPENS.total_seconds() // 60)};" in rules
    assert f"NO_SHOW_AFTER_MINUTES = {int(NO_SHOW_AFTER.total_seconds() // 60)};" in rules


@pytest.mark.parametrize("size", SIZES)
def test_booking_with_the_day_strip_the_bar_and_the_confirmation(
    contexts: Contexts, size: dict[str, int], screenshot_dir: Path
) -> None:
    label = "phone" if size == PHONE else "desktop"
    doctor_context, patient_context = contexts.new(), contexts.new(viewport=size)
    doctor = ApiUser(doctor_context, "doctor", "Dr Mae Jemison")
    doctor.call("PATCH", "/users/me", {"doctor": {"specialty": "General practice", "languages": ["en", "fr"]}})
    api_open_every_hour(doctor)
    ApiUser(patient_context, "patient", f"Ruth Bader {label}")
    page = patient_context.new_page()
    page.goto("/patient/dashboard")

    # The header is one row on a phone: the brand and the menu button share a line.
    brand = page.get_by_test_id("brand").bounding_box()
    last = page.get_by_test_id("nav-menu" if size == PHONE else "logout").bounding_box()
    assert brand and last
    overlap = min(brand["y"] + brand["height"], last["y"] + last["height"]) - max(brand["y"], last["y"])
    assert overlap > 0, "the header wraps onto a second row"
    assert page.locator("header").bounding_box()["height"] < 70  # type: ignore[index]
    if size == PHONE:
        expect(page.get_by_test_id("nav-account")).to_be_hidden()
        page.get_by_test_id("nav-menu").click()
        expect(page.get_by_test_id("nav-account")).to_be_visible()
        expect(page.get_by_test_id("nav-menu")).to_have_attribute("aria-expanded", "true")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("nav-account")).to_be_hidden()

    # A keyword finds a word of the specialty; the card says the languages by name.
    page.get_by_label("Name or keyword").fill("general")
    page.get_by_test_id("doctor-search-submit").click()
    card = page.locator(f"[data-testid=doctor-card][data-doctor-id='{doctor.user['id']}']")
    expect(card.get_by_test_id("doctor-languages")).to_have_text("Speaks English, French")
    expect(card.get_by_test_id("doctor-avatar")).to_have_text("MJ")
    card.get_by_test_id("doctor-choose").click()

    # A day strip of seven days; only the chosen day's times are listed.
    strip = page.get_by_test_id("day-strip")
    expect(strip.get_by_test_id("day")).to_have_count(7)
    chosen = strip.locator("[data-testid=day][aria-pressed=true]")
    expect(chosen).to_have_count(1)
    day = chosen.get_attribute("data-date")
    count = int(chosen.get_attribute("data-count") or 0)
    assert count > 0
    expect(page.get_by_test_id("slot")).to_have_count(count)
    # Another day shows that day's times instead.
    other = strip.locator("[data-testid=day]:not([disabled])").nth(1)
    other.click()
    expect(other).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("slot")).to_have_count(int(other.get_attribute("data-count") or 0))
    assert other.get_attribute("data-date") != day
    page.evaluate("window.scrollTo(0, 0)")

    # Picking a time opens the bar at the bottom of the screen, wherever the time was.
    page.get_by_test_id("slot").nth(3).scroll_into_view_if_needed()
    page.get_by_test_id("slot").nth(3).click()
    bar = page.get_by_test_id("booking-bar")
    expect(bar).to_be_visible()
    assert in_viewport(page, "booking-bar"), "the booking bar is off screen"
    page.get_by_test_id("slot").first.scroll_into_view_if_needed()
    assert in_viewport(page, "booking-bar"), "the booking bar left the screen on scrolling"
    if size == PHONE:
        shoot(page, screenshot_dir, "booking-bar-phone")

    # The reason is asked once, checked before sending.
    bar.get_by_test_id("booking-submit").click()
    expect(page.locator("#booking-reason-error")).to_have_text("Fill in the reason for the visit.")
    bar.get_by_label("Reason for the visit").fill("A sore throat for a week")
    bar.get_by_test_id("booking-submit").click()

    confirmation = page.get_by_test_id("booking-confirmation")
    expect(confirmation).to_be_visible()
    # Where the person is looking: its heading is on screen (and has the focus).
    heading = confirmation.get_by_role("heading", name="You are booked")
    expect(heading).to_be_focused()
    assert in_viewport_box(page, heading.bounding_box()), "the confirmation is off screen"
    expect(confirmation.get_by_test_id("notice")).to_contain_text("Booked with Dr Mae Jemison")
    steps = confirmation.get_by_test_id("next-steps")
    expect(steps).to_contain_text("Fill in the intake form")
    expect(steps).to_contain_text("Check in")
    expect(confirmation.get_by_test_id("confirmation-check-in")).not_to_be_empty()
    with page.expect_download() as download:
        confirmation.get_by_test_id("confirmation-calendar").click()
    ics = Path(download.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in ics
    expect(confirmation.get_by_test_id("confirmation-reschedule")).to_be_visible()
    expect(confirmation.get_by_test_id("confirmation-cancel")).to_be_visible()
    shoot(page, screenshot_dir, f"booking-confirmation-{label}")
    violations = run_axe(page)
    assert not violations, describe_violations(violations)
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 1

    # The visit is in the list with one primary action; the others are under "More".
    row = page.get_by_test_id("appointment-row").filter(has_text="A sore throat for a week")
    expect(row.get_by_test_id("appointment-open")).to_have_text("Fill in the intake")
    expect(row.get_by_test_id("appointment-cancel")).to_be_hidden()
    row.get_by_test_id("appointment-more").locator("summary").click()
    expect(row.get_by_test_id("appointment-cancel")).to_be_visible()

    # "Choose another time" opens the move panel with its own day strip.
    confirmation.get_by_test_id("confirmation-reschedule").click()
    panel = page.get_by_test_id("reschedule-panel")
    expect(panel).to_be_in_viewport()
    expect(panel.get_by_test_id("day-strip").get_by_test_id("day")).to_have_count(7)

    # The intake does not ask the reason again.
    confirmation.get_by_test_id("confirmation-intake").click()
    expect(page.get_by_test_id("intake-reason")).to_contain_text("A sore throat for a week")
    expect(page.locator("#intake-complaint")).to_have_count(0)
    # Checked before sending, said next to the box.
    page.get_by_test_id("intake-submit").click()
    expect(page.locator("#intake-consent-error")).to_have_text("Tick the box to consent to treatment before sending.")
    page.get_by_test_id("intake-consent").check()
    page.get_by_test_id("intake-submit").click()
    expect(page.get_by_test_id("intake-saved")).to_be_visible()
    assert_plain(page)


def test_a_time_taken_meanwhile_is_said_plainly_and_dropped(contexts: Contexts, screenshot_dir: Path) -> None:
    doctor_context, patient_context, rival_context = contexts.new(), contexts.new(viewport=PHONE), contexts.new()
    doctor = ApiUser(doctor_context, "doctor", "Dr Taken Slot")
    api_open_every_hour(doctor)
    ApiUser(patient_context, "patient", "Slow Booker")
    rival = ApiUser(rival_context, "patient", "Quick Booker")
    page = patient_context.new_page()
    page.goto("/patient/dashboard")
    page.locator(f"[data-testid=doctor-card][data-doctor-id='{doctor.user['id']}']").get_by_test_id(
        "doctor-choose"
    ).click()
    slot = page.get_by_test_id("slot").nth(1)
    starts_at = slot.get_attribute("data-starts-at")
    assert starts_at
    slot.click()
    page.get_by_test_id("booking-bar").get_by_label("Reason for the visit").fill("Back pain")

    # Someone else books the same time first.
    rival.call("POST", "/appointments", {"doctor_id": doctor.user["id"], "starts_at": starts_at, "reason": "Faster"})
    page.get_by_test_id("booking-submit").click()

    notice = page.get_by_test_id("slot-taken")
    expect(notice).to_contain_text("was just booked by someone else. Please choose another time.")
    expect(page.get_by_test_id("booking-bar")).to_have_count(0)
    expect(page.locator(f"[data-testid=slot][data-starts-at='{starts_at}']")).to_have_count(0)
    expect(page.get_by_test_id("slot").first).to_be_visible()
    assert_plain(page)
    shoot(page, screenshot_dir, "booking-slot-taken-phone")


@pytest.mark.parametrize("size", SIZES)
def test_errors_are_plain_sentences_next_to_their_fields(
    contexts: Contexts, size: dict[str, int], screenshot_dir: Path
) -> None:
    page = contexts.new(viewport=size).new_page()
    page.goto("/register")
    # Checked in the browser first: every field says what to fix, nothing was sent.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/auth/register" in r.url else None)
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_test_id("register-submit").click()
    expect(page.get_by_test_id("reg-name-error")).to_have_text("Fill in your full name.")
    expect(page.get_by_test_id("reg-email-error")).to_have_text("Enter an email address like name@example.com.")
    expect(page.get_by_test_id("reg-password-error")).to_have_text("Your password must be at least 10 characters.")
    expect(page.get_by_test_id("error")).to_contain_text("3 answers need a change.")
    assert sent == []

    # The server's own checks read the same way: a name too long for it.
    page.get_by_label("Full name").fill("N" * 300)
    page.get_by_label("Email").fill("someone@example.test")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_test_id("register-submit").click()
    expect(page.get_by_test_id("reg-name-error")).to_have_text(
        re.compile(r"Your full name can be at most \d+ characters; shorten it\.")
    )
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("One answer needs a change.")
    # The request id only inside "Details", closed by default.
    details = error.get_by_test_id("error-details")
    expect(details).to_be_visible()
    expect(details.locator("code")).to_be_hidden()
    details.locator("summary").click()
    expect(details.locator("code")).to_be_visible()
    details.locator("summary").click()
    assert_plain(page)
    if size == PHONE:
        shoot(page, screenshot_dir, "errors-register-phone")

    # Sign-in errors too.
    page.goto("/login")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-email-error")).to_have_text("Fill in your email address.")
    expect(page.get_by_test_id("login-password-error")).to_have_text("Fill in your password.")
    page.get_by_label("Email").fill("nobody@example.test")
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("error")).to_be_visible()
    assert_plain(page)


@pytest.mark.parametrize("size", SIZES)
def test_check_in_waits_for_its_time_with_a_live_countdown(
    contexts: Contexts, size: dict[str, int], screenshot_dir: Path
) -> None:
    doctor_context, patient_context = contexts.new(viewport=size), contexts.new(viewport=size)
    doctor = ApiUser(doctor_context, "doctor", "Dr Count Down")
    api_open_every_hour(doctor)
    patient = ApiUser(patient_context, "patient", "Early Bird")
    # A time 40 or more minutes ahead: check-in opens 15 minutes before, so 25 or more minutes from now.
    later = free_slots(patient, doctor.user["id"], after_minutes=40)
    assert later, "no slot 40 minutes ahead"
    appointment = patient.call(
        "POST", "/appointments", {"doctor_id": doctor.user["id"], "starts_at": later[0]["starts_at"], "reason": "Check"}
    )
    starts = dt.datetime.fromisoformat(appointment["starts_at"].replace("Z", "+00:00"))
    opens = starts - CHECK_IN_OPENS

    page = patient_context.new_page()
    page.clock.install()
    page.goto(f"/consultation/{appointment['id']}")
    button = page.get_by_test_id("check-in")
    expect(button).to_be_disabled()
    expect(page.get_by_test_id("check-in-opens")).to_contain_text(f"Check-in opens at {opens:%H:%M}, in ")
    first = page.get_by_test_id("check-in-countdown").inner_text()
    minutes = int(re.fullmatch(r"in (\d+) min", first).group(1))  # type: ignore[union-attr]
    # The first free slot 40+ minutes ahead may be up to an hour later (hourly slots): the
    # countdown says the minutes left until check-in opens, whatever the time of day.
    left = (opens - dt.datetime.now(dt.UTC)).total_seconds() / 60
    assert left - 2 <= minutes <= left + 1, (minutes, left)
    shoot(page, screenshot_dir, f"check-in-countdown-{'phone' if size == PHONE else 'desktop'}")
    # The countdown runs by itself.
    page.clock.run_for(2 * 60 * 1000)
    expect(page.get_by_test_id("check-in-countdown")).to_have_text(f"in {minutes - 2} min")
    expect(button).to_be_disabled()
    assert_plain(page)

    # The doctor cannot mark a no-show before the rule allows it either.
    doctor_page = doctor_context.new_page()
    doctor_page.goto(f"/consultation/{appointment['id']}")
    expect(doctor_page.get_by_test_id("no-show")).to_be_disabled()
    expect(doctor_page.get_by_test_id("no-show-allowed")).to_contain_text(
        f"Possible from {starts + NO_SHOW_AFTER:%H:%M}"
    )

    # At the opening minute the button enables itself.
    page.clock.run_for(int((opens - dt.datetime.now(dt.UTC)).total_seconds() * 1000) + 5_000)
    expect(button).to_be_enabled()
    expect(page.get_by_test_id("check-in-opens")).to_have_count(0)


def test_times_follow_the_device_with_a_switch_to_the_profile_zone(contexts: Contexts) -> None:
    doctor = ApiUser(contexts.new(), "doctor", "Dr Zone Switch")
    api_open_every_hour(doctor)
    patient_context = contexts.new(timezone_id="America/New_York", viewport=PHONE)
    ApiUser(patient_context, "patient", "Traveller In New York")  # the profile says UTC
    page = patient_context.new_page()
    page.goto("/patient/dashboard")
    switch = page.get_by_test_id("zone-switch")
    expect(switch).to_have_attribute("data-zone", "America/New_York")
    expect(page.get_by_test_id("zone-device")).to_have_attribute("aria-pressed", "true")
    page.locator(f"[data-testid=doctor-card][data-doctor-id='{doctor.user['id']}']").get_by_test_id(
        "doctor-choose"
    ).click()
    expect(page.get_by_test_id("slot-timezone")).to_have_text("Times shown in America/New York")
    first = page.get_by_test_id("slot").first
    starts_at = first.get_attribute("data-starts-at")
    assert starts_at
    moment = dt.datetime.fromisoformat(starts_at.replace("Z", "+00:00"))
    expect(page.locator(f"[data-testid=slot][data-starts-at='{starts_at}']")).to_have_text(
        f"{moment.astimezone(ZoneInfo('America/New_York')):%H:%M}"
    )

    page.get_by_test_id("zone-profile").click()
    expect(page.get_by_test_id("slot-timezone")).to_have_text("Times shown in UTC")
    expect(page.locator(f"[data-testid=slot][data-starts-at='{starts_at}']")).to_have_text(f"{moment:%H:%M}")
    page.reload()  # the choice is remembered on this device
    expect(page.get_by_test_id("zone-profile")).to_have_attribute("aria-pressed", "true")


LAYOUT_SHIFT = """() => new Promise(resolve => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: 'layout-shift', buffered: true});
  setTimeout(() => resolve(total), 1000);
})"""


def test_dashboards_barely_move_while_their_lists_load_and_show_each_visit_once(contexts: Contexts) -> None:
    doctor_context = contexts.new(viewport=PHONE)
    doctor = ApiUser(doctor_context, "doctor", "Dr Steady Layout")
    api_open_every_hour(doctor)
    patient_context = contexts.new(viewport=PHONE)
    patient = ApiUser(patient_context, "patient", "Steady Patient")
    booked = patient.call(
        "POST",
        "/appointments",
        {
            "doctor_id": doctor.user["id"],
            "starts_at": free_slots(patient, doctor.user["id"])[0]["starts_at"],
            "reason": "X",
        },
    )
    for context, path, ready in (
        (patient_context, "/patient/dashboard", "appointment-row"),
        (doctor_context, "/doctor/dashboard", "appointment-row"),
    ):
        page = context.new_page()
        page.goto(path)
        expect(page.get_by_test_id(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        shift = page.evaluate(LAYOUT_SHIFT)
        assert shift < 0.1, f"{path}: cumulative layout shift {shift:.3f} (good is under 0.1)"

    # Each visit in one place on the doctor's dashboard: checked in, it is under "Waiting now" only.
    patient.call("POST", f"/consultations/{booked['id']}/check-in")
    page = doctor_context.new_page()
    page.goto("/doctor/dashboard")
    rows = page.locator(f"[data-testid=appointment-row][data-appointment-id='{booked['id']}']")
    expect(page.get_by_test_id("waiting-list").locator(f"[data-appointment-id='{booked['id']}']")).to_have_count(1)
    expect(rows).to_have_count(1)
    expect(rows.get_by_test_id("appointment-open")).to_have_text("Open and admit")
