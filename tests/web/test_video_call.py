"""A video visit in two real browsers on the real server: the doctor calls, the patient accepts,
both decode the other's video, and hanging up leaves the call in both chats. Then the same call
forced through a real coturn (``iceTransportPolicy: "relay"``), showing the relay carried it.

Chromium's fake camera and microphone (``--use-fake-device-for-media-stream``) and its fake
permission prompt (``--use-fake-ui-for-media-stream``) stand in for the devices.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.conftest import migrate
from tests.turn import Turn, running_turnserver
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, console_errors
from tests.web.people import ApiUser, api_book_first_slot, api_open_every_hour

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # No mDNS switch is needed: Chromium hides host addresses behind ".local" names only on pages
    # without camera or microphone access, and a call opens them before its peer connection.
]
RELAY = "localStorage.setItem('careconnect.iceTransportPolicy', 'relay')"
DEBUG = "localStorage.setItem('careconnect.debugCall', '1')"
# Each page's call debug log (web/lib/call.ts, DEBUG_SETTING): "[call polite] sent offer {...}".
_CALL_LOGS: dict[Page, list[str]] = {}
# A peer connection whose ICE agent gathers nothing, as Chromium leaves one now and then after a
# rollback of its own fresh offer (issue 19): the page's first connection neither reports its
# candidates nor takes the other side's, so neither side has a pair to check; later ones work.
WEDGED_FIRST_CONNECTION = """(() => {
  const Native = window.RTCPeerConnection;
  let made = 0;
  function Wedged(...args) {
    const pc = new Native(...args);
    if (made++ === 0) {
      pc.addIceCandidate = () => Promise.resolve();
      Object.defineProperty(pc, 'onicecandidate', { configurable: true, get: () => null, set: () => undefined });
    }
    return pc;
  }
  Wedged.prototype = Native.prototype;
  window.RTCPeerConnection = Wedged;
})()"""


@pytest.fixture(scope="module")
def media_browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Chromium with fake media devices (a process-wide switch, so a browser of its own)."""
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *MEDIA_ARGS])
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Turn]:
    with running_turnserver(tmp_path_factory.mktemp("turn")) as server:
        yield server


@pytest.fixture(scope="module")
def turn_server_url(tmp_path_factory: pytest.TempPathFactory, turn: Turn) -> Iterator[str]:
    """A `careconnect serve` whose ICE servers are the test's coturn (TURN_URLS, TURN_SECRET)."""
    from tests.live import LiveServer

    folder = tmp_path_factory.mktemp("live-turn")
    url = f"sqlite:///{folder / 'careconnect.db'}"
    migrate(url)
    server = LiveServer(url, log_path=folder / "server.log", TURN_URLS=turn.url, TURN_SECRET=turn.secret).start()
    try:
        yield server.url
    finally:
        server.stop()


def _visit(browser: Browser, base_url: str, *, relay: bool) -> tuple[Page, Page, dict[str, Any], ApiUser, ApiUser]:
    """A doctor (desktop) and a patient (phone) in a visit in progress, each on its page."""
    pages = []
    users = []
    for role, name, viewport in (("doctor", "Dr Video", DESKTOP), ("patient", "Pat Video", PHONE)):
        context = browser.new_context(base_url=base_url, viewport=viewport, locale="en-GB")  # type: ignore[arg-type]
        context.set_default_timeout(20_000)
        context.grant_permissions(["camera", "microphone"])
        if relay:
            context.add_init_script(RELAY)
        context.add_init_script(DEBUG)
        users.append(ApiUser(context, role, name))
        page = context.new_page()
        _CALL_LOGS[page] = log = []
        page.on("console", lambda message, role=role, log=log: _logged(role, log, message.text))
        pages.append(page)
    doctor, patient = users
    api_open_every_hour(doctor)
    appointment = api_book_first_slot(patient, doctor.user["id"], "A rash on the arm")
    patient.call("POST", f"/consultations/{appointment['id']}/check-in")
    doctor.call("POST", f"/consultations/{appointment['id']}/start")
    return pages[0], pages[1], appointment, doctor, patient


def _logged(role: str, log: list[str], text: str) -> None:
    """Keeps a page's call debug lines, and prints them so pytest shows them when a test fails."""
    print(f"{time.monotonic():.3f} [{role}] {text}")
    if text.startswith("[call "):
        log.append(text)


def _negotiation(page: Page) -> list[str]:
    """The descriptions this page sent and the colliding offers it ignored, in order."""
    return [
        line.split("] ", 1)[1].split(" {")[0]
        for line in _CALL_LOGS[page]
        if "] sent offer" in line or "] sent answer" in line or "ignored a colliding offer" in line
    ]


def _frames_decoded(page: Page) -> int:
    return int(page.get_by_test_id("call-stage").get_attribute("data-frames-decoded") or 0)


def _wait_for_frames(page: Page, above: int, timeout_ms: int = 30_000) -> int:
    try:
        page.wait_for_function(
            "(n) => Number(document.querySelector('[data-testid=call-stage]')?.dataset.framesDecoded || 0) > n",
            arg=above,
            timeout=timeout_ms,
        )
    except Exception as exc:  # say what the page showed instead
        raise AssertionError(f"no video frames decoded beyond {above}: {_shown(page)}") from exc
    return _frames_decoded(page)


def _shown(page: Page) -> Any:
    return page.evaluate(
        """() => { const c = document.querySelector('[data-testid=video-call]');
            const s = document.querySelector('[data-testid=call-stage]');
            const m = document.querySelector('[data-testid=call-message]');
            return {phase: c?.dataset.phase, stage: s ? {...s.dataset} : null, message: m?.textContent}; }"""
    )


def _call_and_hang_up(doctor_page: Page, patient_page: Page, appointment: dict[str, Any]) -> dict[str, str]:
    """The doctor calls, the patient accepts, video flows both ways, the doctor hangs up.
    Returns each side's selected candidate type while connected."""
    path = f"/consultation/{appointment['id']}"
    for page in (doctor_page, patient_page):
        page.goto(path)
        expect(page.get_by_test_id("chat-window")).to_be_visible()
    start = doctor_page.get_by_test_id("call-start")
    expect(start).to_be_enabled()  # the patient is online in the room
    start.click()
    expect(doctor_page.get_by_test_id("call-status")).to_contain_text("Calling Pat Video")
    ringing = patient_page.get_by_test_id("call-ringing")
    expect(ringing).to_contain_text("Dr Video is calling you")
    patient_page.get_by_test_id("call-accept").click()
    candidate_types = {}
    for name, page in (("doctor", doctor_page), ("patient", patient_page)):
        try:
            first = _wait_for_frames(page, 0)
        except AssertionError as exc:
            other = patient_page if page is doctor_page else doctor_page
            raise AssertionError(f"{name}: {exc}; the other side: {_shown(other)}") from exc
        later = _wait_for_frames(page, first)  # frames keep arriving: the video plays
        assert later > first
        expect(page.get_by_test_id("video-call")).to_have_attribute("data-phase", "connected")
        candidate_types[name] = page.get_by_test_id("call-stage").get_attribute("data-candidate-type") or ""
    stage = doctor_page.get_by_test_id("call-stage")
    assert stage.get_attribute("data-quality") in ("good", "fair", "poor")
    expect(doctor_page.get_by_test_id("call-status")).to_contain_text("connection")  # the quality hint
    for button, pressed in (("call-mute", "Unmute"), ("call-camera", "Turn camera on")):
        doctor_page.get_by_test_id(button).click()
        expect(doctor_page.get_by_test_id(button)).to_have_attribute("aria-pressed", "true")
        expect(doctor_page.get_by_test_id(button)).to_have_text(pressed)
        doctor_page.get_by_test_id(button).click()
        expect(doctor_page.get_by_test_id(button)).to_have_attribute("aria-pressed", "false")
    # The start of the call is in both chats already; hanging up adds its end, for both.
    for page in (doctor_page, patient_page):
        expect(page.get_by_test_id("chat-call-line").first).to_contain_text("Video call started")
    doctor_page.get_by_test_id("call-hangup").click()
    for page in (doctor_page, patient_page):
        lines = page.get_by_test_id("chat-call-line")
        expect(lines).to_have_count(2)
        expect(lines.nth(1)).to_contain_text("Video call ended")
        expect(page.get_by_test_id("video-call")).to_have_attribute("data-phase", "idle")
    expect(patient_page.get_by_test_id("call-message")).to_contain_text("Dr Video ended the call")
    # The chat goes on after the call.
    doctor_page.get_by_test_id("chat-input").fill("How is the rash today?")
    doctor_page.get_by_test_id("chat-send").click()
    expect(patient_page.get_by_test_id("chat-message").last).to_contain_text("How is the rash today?")
    return candidate_types


def test_a_video_call_between_doctor_and_patient(media_browser: Browser, live_server_url: str) -> None:
    doctor_page, patient_page, appointment, _, patient = _visit(media_browser, live_server_url, relay=False)
    errors = console_errors(doctor_page) + console_errors(patient_page)
    _call_and_hang_up(doctor_page, patient_page, appointment)
    # Issue 19: the caller's offer opens the call and the callee answers it. The callee never
    # offers first, so no offers cross and nothing is rolled back (a rollback of a fresh offer
    # can leave Chromium's ICE agent gathering nothing: the call stalled in "connecting").
    assert _negotiation(doctor_page) == ["sent offer"], _CALL_LOGS[doctor_page]
    assert _negotiation(patient_page) == ["sent answer"], _CALL_LOGS[patient_page]
    # Over REST too: the call's two messages, kind "call", then the text.
    history = patient.call("GET", f"/consultations/{appointment['id']}/messages")["items"]
    assert [(m["kind"], m["body"][:16]) for m in history] == [
        ("call", "Video call start"),
        ("call", "Video call ended"),
        ("text", "How is the rash "),
    ]
    assert errors == [], errors


def test_a_declined_call_and_a_denied_camera_leave_the_chat_working(
    media_browser: Browser, live_server_url: str
) -> None:
    doctor_page, patient_page, appointment, _, _ = _visit(media_browser, live_server_url, relay=False)
    path = f"/consultation/{appointment['id']}"
    for page in (doctor_page, patient_page):
        page.goto(path)
        expect(page.get_by_test_id("chat-window")).to_be_visible()
    doctor_page.get_by_test_id("call-start").click()
    patient_page.get_by_test_id("call-decline").click()
    expect(doctor_page.get_by_test_id("call-message")).to_contain_text("Pat Video declined the call")
    expect(doctor_page.get_by_test_id("video-call")).to_have_attribute("data-phase", "idle")
    # Camera and microphone refused: a clear message, and no call.
    doctor_page.context.clear_permissions()
    doctor_page.evaluate(
        "() => { navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no', 'NotAllowedError')); }"
    )
    doctor_page.get_by_test_id("call-start").click()
    expect(doctor_page.get_by_test_id("call-message")).to_contain_text("access was denied")
    expect(patient_page.get_by_test_id("call-ringing")).to_have_count(0)
    doctor_page.get_by_test_id("chat-input").fill("Let us keep to the chat, then.")
    doctor_page.get_by_test_id("chat-send").click()
    expect(patient_page.get_by_test_id("chat-message").last).to_contain_text("Let us keep to the chat")
    # Nothing was answered: no call in the history.
    expect(patient_page.get_by_test_id("chat-call-line")).to_have_count(0)


def test_a_relayed_call_goes_through_coturn(media_browser: Browser, turn_server_url: str, turn: Turn) -> None:
    doctor_page, patient_page, appointment, doctor, patient = _visit(media_browser, turn_server_url, relay=True)
    errors = console_errors(doctor_page) + console_errors(patient_page)
    ice = patient.call("GET", f"/consultations/{appointment['id']}/ice-servers")
    assert ice["ice_servers"][0]["urls"] == [turn.url]
    candidate_types = _call_and_hang_up(doctor_page, patient_page, appointment)
    assert candidate_types == {"doctor": "relay", "patient": "relay"}, candidate_types
    # coturn saw both people's time-limited credentials and relayed for them.
    log = turn.log_text()
    for user in (doctor, patient):
        assert f":{user.user['id']}" in log, log[-3000:]
    assert "ALLOCATE processed, success" in log, log[-3000:]
    assert errors == [], errors


def test_a_reload_during_a_call_rejoins_it(media_browser: Browser, live_server_url: str) -> None:
    doctor_page, patient_page, appointment, _, patient = _visit(media_browser, live_server_url, relay=False)
    path = f"/consultation/{appointment['id']}"
    for page in (doctor_page, patient_page):
        page.goto(path)
        expect(page.get_by_test_id("chat-window")).to_be_visible()
    doctor_page.get_by_test_id("call-start").click()
    patient_page.get_by_test_id("call-accept").click()
    for page in (doctor_page, patient_page):
        _wait_for_frames(page, 0)
    patient_page.reload()
    # The patient's page picks the call back up by itself; the doctor's gets the new connection.
    expect(patient_page.get_by_test_id("video-call")).to_have_attribute("data-phase", "connected", timeout=30_000)
    _wait_for_frames(patient_page, 0)
    before = _frames_decoded(doctor_page)
    _wait_for_frames(doctor_page, before)
    expect(doctor_page.get_by_test_id("video-call")).to_have_attribute("data-phase", "connected")
    patient_page.get_by_test_id("call-hangup").click()
    expect(doctor_page.get_by_test_id("call-message")).to_contain_text("Pat Video ended the call")
    # Both connections (before and after the reload) were opened by the doctor's offer alone.
    assert _negotiation(doctor_page) == ["sent offer", "sent offer"], _CALL_LOGS[doctor_page]
    assert _negotiation(patient_page) == ["sent answer", "sent answer"], _CALL_LOGS[patient_page]
    history = patient.call("GET", f"/consultations/{appointment['id']}/messages")["items"]
    assert [m["body"][:16] for m in history if m["kind"] == "call"] == ["Video call start", "Video call ended"]


def test_without_a_camera_the_call_is_audio_only(media_browser: Browser, live_server_url: str) -> None:
    doctor_page, patient_page, appointment, _, _ = _visit(media_browser, live_server_url, relay=False)
    # The doctor's device has a microphone and no camera.
    doctor_page.add_init_script(
        """(() => {
          const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
          navigator.mediaDevices.getUserMedia = (c) =>
            c && c.video ? Promise.reject(new DOMException('no camera', 'NotFoundError')) : open(c);
        })()"""
    )
    path = f"/consultation/{appointment['id']}"
    for page in (doctor_page, patient_page):
        page.goto(path)
        expect(page.get_by_test_id("chat-window")).to_be_visible()
    doctor_page.get_by_test_id("call-start").click()
    expect(doctor_page.get_by_test_id("call-message")).to_contain_text("No camera was found: this call is audio only")
    patient_page.get_by_test_id("call-accept").click()
    _wait_for_frames(doctor_page, 0)  # the patient's video still reaches the doctor
    expect(doctor_page.get_by_test_id("call-status")).to_contain_text("audio only")
    expect(doctor_page.get_by_test_id("call-camera")).to_be_disabled()
    expect(patient_page.get_by_test_id("video-call")).to_have_attribute("data-phase", "connected")
    assert _frames_decoded(patient_page) == 0  # nothing to decode from the doctor
    patient_page.get_by_test_id("call-hangup").click()
    expect(doctor_page.get_by_test_id("chat-call-line")).to_have_count(2)


def test_a_connection_that_gathers_nothing_is_rebuilt(media_browser: Browser, live_server_url: str) -> None:
    """Issue 19's stall made on purpose: the patient's first peer connection gathers nothing (both
    sides stable, ICE "new" for good, which an ICE restart does not mend). The doctor's watchdog
    restarts ICE, then makes a new connection on both sides, and the call connects."""
    doctor_page, patient_page, appointment, _, patient = _visit(media_browser, live_server_url, relay=False)
    patient_page.add_init_script(WEDGED_FIRST_CONNECTION)
    errors = console_errors(doctor_page) + console_errors(patient_page)
    path = f"/consultation/{appointment['id']}"
    for page in (doctor_page, patient_page):
        page.goto(path)
        expect(page.get_by_test_id("chat-window")).to_be_visible()
    doctor_page.get_by_test_id("call-start").click()
    patient_page.get_by_test_id("call-accept").click()
    for page in (doctor_page, patient_page):
        first = _wait_for_frames(page, 0, timeout_ms=90_000)
        _wait_for_frames(page, first)
        expect(page.get_by_test_id("video-call")).to_have_attribute("data-phase", "connected")
    doctor_log = _CALL_LOGS[doctor_page]
    assert any("watchdog: not connected" in line for line in doctor_log), doctor_log
    assert any("rebuilding the peer connection" in line for line in doctor_log), doctor_log
    doctor_page.get_by_test_id("call-hangup").click()
    expect(patient_page.get_by_test_id("call-message")).to_contain_text("Dr Video ended the call")
    # One call, start and end, however many connections it took.
    history = patient.call("GET", f"/consultations/{appointment['id']}/messages")["items"]
    assert [m["body"][:16] for m in history if m["kind"] == "call"] == ["Video call start", "Video call ended"]
    assert errors == [], errors
