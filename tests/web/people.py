"""What a doctor and a patient do in the browser, step by step, and the same set-up over the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.web.conftest import PASSWORD, unique_email

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


@dataclass
class Person:
    name: str
    email: str
    role: str


def register_in_browser(page: Page, role: str, name: str, *, specialty: str = "General practice") -> Person:
    person = Person(name=name, email=unique_email(role), role=role)
    page.goto("/register")
    page.get_by_test_id(f"role-{role}").check()
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    if role == "doctor":
        page.get_by_label("Specialty").fill(specialty)
        page.get_by_label("Languages").fill("English, French")
        page.get_by_label("License number").fill("LIC-12345")
    page.get_by_test_id("register-submit").click()
    page.wait_for_url(f"**/{role}/dashboard")
    expect(page.get_by_test_id("nav-user")).to_contain_text(name)
    return person


def open_every_hour(page: Page) -> None:
    """Availability that always has a slot within ten minutes: every day 00:00-23:50, 10-minute
    slots, no notice, in UTC (so check-in, allowed from 15 minutes before the start, works now).
    Set on /doctor/availability (linked from the dashboard), then back on the dashboard."""
    page.get_by_test_id("availability-link").click()
    form = page.get_by_test_id("availability-form")
    expect(form).to_be_visible()
    form.get_by_label("Time zone").select_option("UTC")
    form.get_by_label("Slot length (minutes)").fill("10")
    form.get_by_label("Minimum notice (minutes)").fill("0")
    form.get_by_label("Booking horizon (days)").fill("14")
    weekly = page.get_by_test_id("weekly-hours")
    while weekly.get_by_role("button", name="Remove").count() > 0:
        weekly.get_by_role("button", name="Remove").first.click()
    for weekday in range(7):
        page.get_by_test_id(f"weekday-{weekday}-add").click()
        page.locator(f"#weekly-{weekday}-0-start").fill("00:00")
        page.locator(f"#weekly-{weekday}-0-end").fill("23:50")
    page.get_by_test_id("availability-save").click()
    expect(page.get_by_test_id("availability-saved")).to_be_visible()
    page.get_by_test_id("nav-dashboard").click()
    expect(page.get_by_test_id("doctor-dashboard")).to_be_visible()


def book_first_slot(page: Page, doctor: Person, reason: str, *, zone: str | None = None) -> str:
    """From the patient dashboard: find the doctor, pick the first free time of the day strip's
    first day with any, book from the bar at the bottom. Returns the consultation URL path of
    the new appointment (from the confirmation)."""
    page.get_by_label("Name or keyword").fill(doctor.name)
    page.get_by_test_id("doctor-search-submit").click()
    card = page.get_by_test_id("doctor-card").filter(has_text=doctor.name)
    card.get_by_test_id("doctor-choose").click()
    first = page.get_by_test_id("slot").first
    expect(first).to_be_visible()
    if zone:
        expect(page.get_by_test_id("slot-timezone")).to_contain_text(zone)
    first.click()
    bar = page.get_by_test_id("booking-bar")
    bar.get_by_label("Reason for the visit").fill(reason)
    bar.get_by_test_id("booking-submit").click()
    confirmation = page.get_by_test_id("booking-confirmation")
    expect(confirmation.get_by_test_id("notice")).to_contain_text("Booked with")
    appointment_id = confirmation.get_attribute("data-appointment-id")
    assert appointment_id
    row = page.get_by_test_id("appointment-row").filter(has_text=reason)
    expect(row).to_have_attribute("data-status", "booked")
    return f"/consultation/{appointment_id}"


def messages(page: Page) -> list[dict[str, Any]]:
    """The chat as shown: text, seq and status of every message, in display order."""
    return page.eval_on_selector_all(
        "[data-testid=chat-message]",
        """els => els.map(e => ({
            body: e.querySelector('[data-testid=chat-message-body]').textContent,
            seq: e.dataset.seq ? Number(e.dataset.seq) : null,
            status: e.dataset.status, mine: e.dataset.mine === 'true'}))""",
    )


def assert_once_in_order(page: Page, expected: list[str]) -> None:
    """Every expected text shown exactly once, in this order, with strictly increasing seqs."""
    shown = messages(page)
    bodies = [m["body"] for m in shown]
    for text in expected:
        assert bodies.count(text) == 1, f"{text!r} shown {bodies.count(text)} times: {bodies}"
    positions = [bodies.index(text) for text in expected]
    assert positions == sorted(positions), f"out of order: {bodies}"
    seqs = [m["seq"] for m in shown if m["seq"] is not None]
    assert seqs == sorted(set(seqs)), f"seqs not strictly increasing: {seqs}"


# ----- the same set-up over the API (for the accessibility and screenshot tour) --------------


class ApiUser:
    """Signs up and in through the context's request client, so the page shares its cookie."""

    def __init__(self, context: BrowserContext, role: str, name: str) -> None:
        self.context = context
        self.email = unique_email(role)
        body: dict[str, Any] = {
            "email": self.email,
            "password": PASSWORD,
            "full_name": name,
            "role": role,
            "timezone": "UTC",
        }
        if role == "doctor":
            body["doctor"] = {"specialty": "Dermatology", "bio": "Skin.", "languages": ["English"]}
        self.user = self._ok(context.request.post("/api/v1/auth/register", data=body))
        token = self._ok(context.request.post("/api/v1/auth/login", data={"email": self.email, "password": PASSWORD}))
        self.token = token["access_token"]

    @staticmethod
    def _ok(response: Any) -> Any:
        assert response.ok, f"{response.status} {response.url}: {response.text()}"
        return response.json() if response.status != 204 else None

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        response = self.context.request.fetch(
            f"/api/v1{path}",
            method=method,
            data=body,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
        )
        return self._ok(response)


def api_open_every_hour(doctor: ApiUser) -> None:
    doctor.call(
        "PUT",
        "/doctors/me/availability",
        {
            "timezone": "UTC",
            "slot_minutes": 10,
            "min_notice_minutes": 0,
            "horizon_days": 14,
            "weekly": [{"weekday": d, "start": "00:00", "end": "23:50"} for d in range(7)],
            "exceptions": [],
        },
    )


def api_book_first_slot(patient: ApiUser, doctor_id: str, reason: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    slots = patient.call(
        "GET",
        f"/doctors/{doctor_id}/slots?from={(now + dt.timedelta(minutes=1)).isoformat().replace('+00:00', 'Z')}"
        f"&to={(now + dt.timedelta(days=2)).isoformat().replace('+00:00', 'Z')}",
    )
    assert slots["slots"], "the doctor offers no slot in the next two days"
    return patient.call(
        "POST",
        "/appointments",
        {"doctor_id": doctor_id, "starts_at": slots["slots"][0]["starts_at"], "reason": reason},
        headers={"Idempotency-Key": f"tour-{now.timestamp()}"},
    )
