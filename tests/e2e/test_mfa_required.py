"""MFA_REQUIRED_ROLES through a real server: REST answers 403 mfa_enrollment_required, the hub
closes 4403 at `hello`, until the account enrols a factor; bots are never subject."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pyotp
import pytest
import websockets

from tests.helpers import PASSWORD, email
from tests.live import LiveServer, served


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def strict(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("mfa"), request.param, MFA_REQUIRED_ROLES="doctor,admin") as server:
        yield server


async def hello(live: LiveServer, token: str) -> tuple[str, int | None]:
    """The first frame after hello ('welcome' or ''), and the close code if the server closed."""
    async with websockets.connect(live.ws_url, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "client": "test/1"}))
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return frame["type"], None
        except websockets.ConnectionClosed as closed:
            return "", closed.rcvd.code if closed.rcvd else None


async def sign_in(http: httpx.AsyncClient, address: str) -> dict:
    response = await http.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return {"token": token, "h": {"Authorization": f"Bearer {token}"}}


async def enrol(http: httpx.AsyncClient, who: dict) -> None:
    secret = (await http.post("/api/v1/users/me/mfa/totp", headers=who["h"])).json()["secret"]
    code = pyotp.TOTP(secret).at(time.time())
    confirmed = await http.post("/api/v1/users/me/mfa/totp/confirm", json={"code": code}, headers=who["h"])
    assert confirmed.status_code == 200, confirmed.text


async def test_doctor_without_a_factor_gets_403_and_4403_until_enrolled(strict: LiveServer):
    async with httpx.AsyncClient(base_url=strict.url, timeout=20) as http:
        address = email("doctor")
        body = {"email": address, "password": PASSWORD, "full_name": "Dr Strict", "role": "doctor"}
        registered = await http.post("/api/v1/auth/register", json={**body, "doctor": {"specialty": "GP"}})
        assert registered.status_code == 201
        doctor = await sign_in(http, address)
        refused = await http.get("/api/v1/appointments", headers=doctor["h"])
        assert refused.status_code == 403 and refused.json()["code"] == "mfa_enrollment_required"
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await http.get("/api/v1/users/me", headers=doctor["h"])).status_code == 200
        assert await hello(strict, doctor["token"]) == ("", 4403)
        # A patient is not named by the setting.
        patient_address = email("patient")
        await http.post("/api/v1/auth/register", json={**body, "email": patient_address, "role": "patient"})
        patient = await sign_in(http, patient_address)
        assert (await http.get("/api/v1/appointments", headers=patient["h"])).status_code == 200
        assert await hello(strict, patient["token"]) == ("welcome", None)
        # Enrolled: the same token works at once on this worker, REST and hub alike.
        await enrol(http, doctor)
        assert (await http.get("/api/v1/appointments", headers=doctor["h"])).status_code == 200
        assert await hello(strict, doctor["token"]) == ("welcome", None)


def create_admin(live: LiveServer) -> str:
    address = email("admin")
    result = subprocess.run(
        [sys.executable, "-m", "careconnect", "create-admin", "--email", address, "--password", PASSWORD],
        env=live.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return address


async def test_bots_are_never_subject(strict: LiveServer):
    async with httpx.AsyncClient(base_url=strict.url, timeout=20) as http:
        admin = await sign_in(http, await asyncio.to_thread(create_admin, strict))
        refused = await http.post("/api/v1/admin/integrations", json={"name": "Triage"}, headers=admin["h"])
        assert refused.status_code == 403 and refused.json()["code"] == "mfa_enrollment_required"
        await enrol(http, admin)
        creds = (await http.post("/api/v1/admin/integrations", json={"name": "Triage"}, headers=admin["h"])).json()
        token = (
            await http.post(
                "/api/v1/auth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
            )
        ).json()["access_token"]
        assert await hello(strict, token) == ("welcome", None)
