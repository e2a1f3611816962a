"""The doctor invites an integration's bot from the consultation workspace (issue 21): the
panel lists the integrations an admin made, the invited bot hears of it at once on its socket,
and the doctor removes it again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.live import LiveServer, served
from tests.web.conftest import PASSWORD, Contexts, console_errors, describe_violations, run_axe
from tests.web.people import ApiUser, api_book_first_slot, api_open_every_hour
from tests.web.test_admin_review import create_admin

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def assistants_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("assistants")) as server:
        yield server


@pytest.fixture(scope="module")
def live_server_url(assistants_server: LiveServer) -> str:
    return assistants_server.url


def test_a_doctor_invites_and_removes_an_assistant(contexts: Contexts, assistants_server: LiveServer) -> None:
    admin_context, doctor_context, patient_context = contexts.new(), contexts.new(), contexts.new()
    admin_email = create_admin(assistants_server)
    login = admin_context.request.post("/api/v1/auth/login", data={"email": admin_email, "password": PASSWORD})
    admin_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = admin_context.request.post("/api/v1/admin/integrations", data={"name": "Scribe"}, headers=admin_headers)
    assert created.status == 201, created.text()
    creds = created.json()
    grant = admin_context.request.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    bot_token = grant.json()["access_token"]

    doctor = ApiUser(doctor_context, "doctor", "Dr Lise Meitner")
    patient = ApiUser(patient_context, "patient", "Otto Frisch")
    api_open_every_hour(doctor)
    appointment = api_book_first_slot(patient, doctor.user["id"], "A sore throat")

    page = doctor_context.new_page()
    errors = console_errors(page)
    page.goto(f"/consultation/{appointment['id']}")
    panel = page.get_by_test_id("assistants")
    expect(panel).to_contain_text("No assistant is in this consultation.")
    expect(panel.get_by_test_id("assistant-choice")).to_have_value(creds["client_id"])
    violations = run_axe(page)
    assert violations == [], describe_violations(violations)

    with connect(assistants_server.ws_url) as bot:
        bot.send(json.dumps({"type": "hello", "token": bot_token}))
        assert json.loads(bot.recv(timeout=10))["type"] == "welcome"
        panel.get_by_test_id("assistant-invite").click()
        row = panel.get_by_test_id("assistant")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Scribe")
        expect(panel.get_by_test_id("assistant-choice")).to_have_count(0)  # nobody left to invite
        while (frame := json.loads(bot.recv(timeout=10)))["type"] != "invited":
            pass
        assert frame["room"] == f"consultation:{appointment['id']}"

    panel.get_by_role("button", name="Remove Scribe").click()
    expect(panel.get_by_test_id("assistant")).to_have_count(0)
    expect(panel).to_contain_text("No assistant is in this consultation.")
    assert doctor.call("GET", f"/consultations/{appointment['id']}/participants") == []
    assert errors == [], errors
