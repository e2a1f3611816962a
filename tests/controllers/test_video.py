"""Video visits over REST (API.md 1.1): ICE servers with TURN REST credentials, and the call audit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from careconnect.domain.video.calls import call_resource
from careconnect.hub import Principal
from careconnect.realtime import ConsultationRooms
from careconnect.settings import Settings
from tests.conftest import make_settings
from tests.consult_helpers import visit
from tests.helpers import admin, assert_problem, signed_in

SECRET = "coturn-static-auth-secret-0123456789"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        stun_urls=("stun:turn.example.org:3478",),
        turn_urls=("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"),
        turn_secret=SECRET,
        turn_ttl_s=600,
    )


async def test_members_get_stun_and_a_time_limited_turn_credential_while_the_visit_is_open(client):
    v = await visit(client)
    cid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    path = f"/api/v1/consultations/{cid}/ice-servers"
    # Booked, not yet checked in: no call yet.
    assert_problem(await client.get(path, headers=p), 409, "invalid_state")
    assert (await client.post(f"/api/v1/consultations/{cid}/check-in", headers=p)).status_code == 200
    for headers, user in ((p, v["patient"]), (d, v["doctor"])):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["ttl_s"] == 600
        stun, turn = body["ice_servers"]
        assert stun == {"urls": ["stun:turn.example.org:3478"]}
        assert turn["urls"] == ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
        expiry, user_id = turn["username"].split(":")
        assert user_id == user["id"]
        assert abs(int(expiry) - (time.time() + 600)) < 30
        expected = base64.b64encode(hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest())
        assert turn["credential"] == expected.decode()
        assert SECRET not in response.text
    assert (await client.post(f"/api/v1/consultations/{cid}/start", headers=d)).status_code == 200
    assert (await client.get(path, headers=p)).status_code == 200
    assert (await client.post(f"/api/v1/consultations/{cid}/complete", headers=d)).status_code == 200
    assert_problem(await client.get(path, headers=d), 409, "invalid_state")


async def test_anyone_else_gets_404_and_the_attempt_is_audited(client):
    v = await visit(client)
    cid = v["id"]
    await client.post(f"/api/v1/consultations/{cid}/check-in", headers=v["patient_headers"])
    _, stranger = await signed_in(client, "patient")
    _, other_doctor = await signed_in(client, "doctor")
    for headers in (stranger, other_doctor):
        assert_problem(await client.get(f"/api/v1/consultations/{cid}/ice-servers", headers=headers), 404, "not_found")
    for bad, status in (("not-a-uuid", 404), ("00000000-0000-0000-0000-000000000000", 404), ("%00", 400)):
        response = await client.get(f"/api/v1/consultations/{bad}/ice-servers", headers=stranger)
        assert response.status_code == status, response.text
    assert (await client.get(f"/api/v1/consultations/{cid}/ice-servers")).status_code == 401
    _, admin_headers = await admin(client)
    entries = await client.get("/api/v1/admin/audit?action=consultation.ice_servers", headers=admin_headers)
    denied = [e for e in entries.json()["items"] if e["resource_id"] == cid]
    assert len(denied) == 2 and {e["outcome"] for e in denied} == {"not_found"}
    assert {e["patient_id"] for e in denied} == {v["patient"]["id"]}


async def test_without_turn_settings_only_stun_is_offered(database_url):
    from tests.conftest import app_client, wipe

    async with app_client(make_settings(database_url, stun_urls=("stun:stun.example.org:3478",))) as client:
        await wipe(client.app)  # type: ignore[attr-defined]
        v = await visit(client)
        await client.post(f"/api/v1/consultations/{v['id']}/check-in", headers=v["patient_headers"])
        response = await client.get(f"/api/v1/consultations/{v['id']}/ice-servers", headers=v["patient_headers"])
        assert response.json() == {"ice_servers": [{"urls": ["stun:stun.example.org:3478"]}], "ttl_s": 3600}


async def test_calls_are_audited_with_caller_callee_and_duration(client):
    v = await visit(client)
    cid, patient, doctor = v["id"], v["patient"], v["doctor"]
    rooms = ConsultationRooms()
    callee = Principal(id=patient["id"], role="patient", name="P", session_id="s", address="10.0.0.9")
    await rooms.call_started(callee, f"consultation:{cid}", doctor["id"], patient["id"])
    await rooms.call_ended(callee, f"consultation:{cid}", doctor["id"], patient["id"], 12 * 60 + 4)
    _, admin_headers = await admin(client)
    for action, resource in (
        ("call.started", call_resource(cid, doctor["id"], patient["id"], None)),
        ("call.ended", call_resource(cid, doctor["id"], patient["id"], 724)),
    ):
        entries = (await client.get(f"/api/v1/admin/audit?action={action}", headers=admin_headers)).json()["items"]
        assert [(e["resource_id"], e["actor"]["id"], e["patient_id"], e["ip"]) for e in entries] == [
            (resource, patient["id"], patient["id"], "10.0.0.9")
        ]
    assert call_resource(cid, "a", "b", 724).endswith("caller=a callee=b duration_s=724")


def test_turn_settings_are_checked_when_loaded():
    from careconnect.settings import SettingsError, load_settings

    base = {"ENVIRONMENT": "test", "SECRET_KEY": "k" * 40}
    loaded = load_settings({**base, "TURN_URLS": "turn:a.example:3478", "TURN_SECRET": SECRET, "TURN_TTL_S": "120"})
    assert loaded.turn_urls == ("turn:a.example:3478",) and loaded.turn_ttl_s == 120
    with pytest.raises(SettingsError, match="TURN_SECRET"):
        load_settings({**base, "TURN_URLS": "turn:a.example:3478"})
    with pytest.raises(SettingsError, match="must start with"):
        load_settings({**base, "STUN_URLS": "http://a.example"})
    with pytest.raises(SettingsError, match="TURN_TTL_S"):
        load_settings({**base, "TURN_TTL_S": "5"})
