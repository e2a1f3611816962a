"""Photos in the chat, in real browsers: the patient on a 390 px phone attaches a photo through
the file picker; the doctor sees its thumbnail in the chat and in the visit's files, and opens it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.infra import migrate
from tests.live import LiveServer
from tests.web.conftest import PHONE, Contexts, console_errors, describe_violations, run_axe
from tests.web.people import ApiUser, api_book_first_slot, api_open_every_hour

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web client's server, with the files in a folder of this test's own."""
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'careconnect.db'}"
    migrate(url)
    server = LiveServer(url, log_path=folder / "server.log", STORAGE_URL=f"file://{folder / 'blobs'}").start()
    try:
        yield server.url
    finally:
        server.stop()


def photo(path: Path) -> Path:
    Image.new("RGB", (800, 600), (180, 40, 40)).save(path, "JPEG")
    return path


def test_patient_attaches_a_photo_the_doctor_sees_and_opens_it(contexts: Contexts, tmp_path: Path) -> None:
    doctor_context = contexts.new()
    doctor = ApiUser(doctor_context, "doctor", "Dr Skin")
    patient_context = contexts.new(viewport=PHONE)
    patient = ApiUser(patient_context, "patient", "Pat Rash")
    api_open_every_hour(doctor)
    visit = api_book_first_slot(patient, doctor.user["id"], "A rash on my arm")
    patient.call("POST", f"/consultations/{visit['id']}/check-in")
    doctor.call("POST", f"/consultations/{visit['id']}/start")

    patient_page = patient_context.new_page()
    doctor_page = doctor_context.new_page()
    patient_errors, doctor_errors = console_errors(patient_page), console_errors(doctor_page)
    patient_page.goto(f"/consultation/{visit['id']}")
    doctor_page.goto(f"/consultation/{visit['id']}")
    expect(patient_page.get_by_test_id("chat-window")).to_be_visible()
    expect(doctor_page.get_by_test_id("visit-files")).to_contain_text("No files shared yet")

    # A file that is not a photo: refused with a clear message, nothing to send.
    fake = tmp_path / "notes.jpg"
    fake.write_bytes(b"plain text pretending to be a photo" * 20)
    patient_page.get_by_test_id("attach-input").set_input_files(str(fake))
    expect(patient_page.get_by_test_id("upload-error")).to_contain_text("can't be sent")
    patient_page.get_by_test_id("upload-remove").click()

    # Camera and gallery are both offered on the phone.
    expect(patient_page.get_by_test_id("camera-input")).to_have_attribute("capture", "environment")
    with patient_page.expect_file_chooser() as chooser:
        patient_page.get_by_test_id("attach-file").click()
    chooser.value.set_files(str(photo(tmp_path / "rash.jpg")))
    expect(patient_page.get_by_test_id("pending-file")).to_have_attribute("data-ready", "true")
    patient_page.get_by_label("Message", exact=True).fill("This is the rash")
    patient_page.get_by_test_id("chat-send").click()
    mine = patient_page.get_by_test_id("chat-message").filter(has_text="This is the rash")
    expect(mine).to_have_attribute("data-status", "sent")
    expect(mine.get_by_test_id("thumbnail-image")).to_be_visible()
    violations = run_axe(patient_page)
    assert violations == [], describe_violations(violations)
    width = patient_page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at 390 px ({width} px wide)"

    # The doctor sees the thumbnail live, opens the viewer, and finds it in the visit's files.
    theirs = doctor_page.get_by_test_id("chat-message").filter(has_text="This is the rash")
    thumbnail = theirs.get_by_test_id("thumbnail-image")
    expect(thumbnail).to_be_visible()
    assert doctor_page.evaluate("(img) => img.naturalWidth", thumbnail.element_handle()) == 320
    theirs.get_by_test_id("attachment-thumbnail").click()
    viewer = doctor_page.get_by_test_id("viewer-image")
    expect(viewer).to_be_visible()
    doctor_page.wait_for_function("() => document.querySelector('[data-testid=viewer-image]')?.naturalWidth === 800")
    violations = run_axe(doctor_page)
    assert violations == [], describe_violations(violations)
    doctor_page.get_by_test_id("viewer-close").click()
    expect(doctor_page.get_by_test_id("image-viewer")).to_have_count(0)
    expect(doctor_page.get_by_test_id("visit-files").get_by_test_id("thumbnail-image")).to_have_count(1)
    assert doctor_errors == [], doctor_errors
    assert patient_errors == [], patient_errors
