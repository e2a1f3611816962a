"""The bell over REST: notifications stored by the visit's events, listed (unread, cursor),
read one by one (only your own) or all at once; the mail preferences; and the live
``notification`` frame through a real server's hub socket."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
import pytest
import websockets

from careconnect.domain.notifications.inbox import StoredPreferences
from careconnect.tables.outbox import OutboxJob
from tests.conftest import app_client, make_settings, wipe
from tests.consult_helpers import book, open_doctor, visit
from tests.helpers import assert_problem, signed_in
from tests.notifications.test_app import until

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def notifications(client, headers, **params):
    response = await client.get("/api/v1/notifications", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_booking_tells_the_doctor_and_a_cancellation_tells_the_patient(client):
    v = await visit(client)
    page = await notifications(client, v["doctor_headers"])
    assert page["unread"] == 1 and page["next_cursor"] is None
    (item,) = page["items"]
    assert item["kind"] == "booked" and item["read_at"] is None
    assert item["link"] == f"/consultation/{v['id']}"
    assert set(item) == {"id", "kind", "title", "body", "link", "created_at", "read_at"}
    assert "Checkup" not in json.dumps(item)  # who and when, never why
    assert (await notifications(client, v["patient_headers"]))["items"] == []  # the patient booked it
    cancelled = await client.post(f"/api/v1/appointments/{v['id']}/cancel", json={}, headers=v["doctor_headers"])
    assert cancelled.status_code == 200
    (told,) = (await notifications(client, v["patient_headers"]))["items"]
    assert told["kind"] == "cancelled"
    assert len((await notifications(client, v["doctor_headers"]))["items"]) == 1  # not told of their own act


async def test_check_in_start_and_summary_notify_the_other_side(client):
    v = await visit(client)
    cid, d, p = v["id"], v["doctor_headers"], v["patient_headers"]
    assert (await client.post(f"/api/v1/consultations/{cid}/check-in", headers=p)).status_code == 200
    kinds = [i["kind"] for i in (await notifications(client, d))["items"]]
    assert kinds == ["patient_waiting", "booked"]
    assert (await client.post(f"/api/v1/consultations/{cid}/start", headers=d)).status_code == 200
    url = f"/api/v1/consultations/{cid}/summary"
    assert (await client.put(url, json={"text": "Rest.", "version": 0}, headers=d)).status_code == 200
    assert (await client.put(url, json={"text": "Rest!", "version": 1}, headers=d)).status_code == 200
    kinds = [i["kind"] for i in (await notifications(client, p))["items"]]
    assert kinds == ["summary_ready", "admitted"]  # one summary notification for two saves


async def test_unread_filter_cursor_read_and_read_all(client):
    doctor, d = await open_doctor(client)
    _, p = await signed_in(client, "patient")
    for skip in range(5):
        await book(client, doctor["id"], p, skip=skip * 3)
    first = await notifications(client, d, limit=2)
    assert len(first["items"]) == 2 and first["unread"] == 5 and first["next_cursor"]
    second = await notifications(client, d, limit=2, cursor=first["next_cursor"])
    third = await notifications(client, d, limit=2, cursor=second["next_cursor"])
    ids = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    read = await client.post(f"/api/v1/notifications/{ids[0]}/read", headers=d)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = await client.post(f"/api/v1/notifications/{ids[0]}/read", headers=d)
    assert again.json()["read_at"] == read.json()["read_at"]  # idempotent
    unread = await notifications(client, d, unread="true")
    assert unread["unread"] == 4 and ids[0] not in [i["id"] for i in unread["items"]]
    everything = await client.post("/api/v1/notifications/read-all", headers=d)
    assert everything.status_code == 200 and everything.json()["unread"] == 0
    assert (await notifications(client, d, unread="true"))["items"] == []
    assert_problem(
        await client.get("/api/v1/notifications", params={"cursor": "nope"}, headers=d), 422, "validation_error"
    )
    assert_problem(await client.get("/api/v1/notifications", params={"limit": 0}, headers=d), 422, "validation_error")


async def test_another_users_notification_is_not_found(client):
    v = await visit(client)
    (item,) = (await notifications(client, v["doctor_headers"]))["items"]
    _, stranger = await signed_in(client, "patient")
    for who in (stranger, v["patient_headers"]):
        assert_problem(await client.post(f"/api/v1/notifications/{item['id']}/read", headers=who), 404, "not_found")
    assert_problem(await client.post("/api/v1/notifications/not-an-id/read", headers=stranger), 404, "not_found")
    assert (await notifications(client, v["doctor_headers"]))["unread"] == 1
    assert (await client.get("/api/v1/notifications")).status_code == 401


async def test_preferences_default_on_patch_and_are_asked_at_send_time(client):
    user, h = await signed_in(client, "patient")
    url = "/api/v1/users/me/notification-preferences"
    assert (await client.get(url, headers=h)).json() == {
        "email_booking": True,
        "email_reminders": True,
        "email_summary": True,
    }
    patched = await client.patch(url, json={"email_reminders": False}, headers=h)
    assert patched.status_code == 200
    assert patched.json() == {"email_booking": True, "email_reminders": False, "email_summary": True}
    patched = await client.patch(url, json={"email_summary": False}, headers=h)
    assert patched.json() == {"email_booking": True, "email_reminders": False, "email_summary": False}
    assert (await client.get(url, headers=h)).json() == patched.json()
    prefs = StoredPreferences()
    assert not await prefs.wants(user["id"], "reminders")
    assert await prefs.wants(user["id"], "booking")
    assert await prefs.wants(user["id"], "security")  # never asked
    assert (await client.patch(url, json={"email_booking": "yes"}, headers=h)).status_code in (400, 422)
    assert (await client.patch(url, json={"surprise": True}, headers=h)).status_code in (400, 422)
    _, other = await signed_in(client, "patient")
    assert (await client.get(url, headers=other)).json()["email_reminders"] is True  # per user


async def test_a_notification_is_pushed_live_through_the_hub(live_server_url):
    async with httpx.AsyncClient(base_url=live_server_url, timeout=20) as http:
        doctor, d = await open_doctor(http)
        _, p = await signed_in(http, "patient")
        token = d["Authorization"].removeprefix("Bearer ")
        ws_url = live_server_url.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url, open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "client": "test/1"}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert welcome["type"] == "welcome"
            appointment = await book(http, doctor["id"], p)
            frame = None
            while frame is None or frame["type"] != "notification":
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            stored = (await http.get("/api/v1/notifications", headers=d)).json()["items"][0]
            assert frame["notification"]["id"] == stored["id"]
            assert frame["notification"]["kind"] == "booked"
            assert frame["notification"]["link"] == f"/consultation/{appointment['id']}"


@pytest.fixture
async def fast(database_url):
    async with app_client(make_settings(database_url, outbox_poll_s=0.05)) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        yield http
        await OutboxJob.delete(force=True)


async def test_starting_in_ten_minutes_tells_both_and_a_cancellation_withdraws_it(fast):
    doctor, d = await open_doctor(fast)
    _, p = await signed_in(fast, "patient")
    first = await book(fast, doctor["id"], p, skip=4)
    second = await book(fast, doctor["id"], p, skip=8)
    soon = await OutboxJob.select(OutboxJob.dedupe_key, OutboxJob.status).where(OutboxJob.kind == "visit.soon")
    assert sorted(j["dedupe_key"] for j in soon) == sorted(f"visit.soon:{a['id']}" for a in (first, second))
    assert (await fast.post(f"/api/v1/appointments/{second['id']}/cancel", json={}, headers=p)).status_code == 200
    row = await OutboxJob.select(OutboxJob.status).where(OutboxJob.dedupe_key == f"visit.soon:{second['id']}").first()
    assert row == {"status": "cancelled"}
    now = dt.datetime.now(dt.UTC)
    await OutboxJob.update({OutboxJob.run_at: now, OutboxJob.due_at: now}).where(
        OutboxJob.dedupe_key == f"visit.soon:{first['id']}"
    )

    async def told() -> bool:
        kinds = [i["kind"] for i in (await notifications(fast, p))["items"]]
        return "starting_soon" in kinds

    await until(told)
    doctor_kinds = [i["kind"] for i in (await notifications(fast, d))["items"]]
    assert doctor_kinds.count("starting_soon") == 1
