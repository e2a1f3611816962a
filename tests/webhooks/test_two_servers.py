"""Two real server processes on one PostgreSQL, each running its webhook worker: a receiver that
fails its first attempts still gets one appointment's events once each, in order, whichever
server's worker claims which delivery."""

from __future__ import annotations

import asyncio
from itertools import groupby
from pathlib import Path

import httpx
import pytest

from tests.consult_helpers import open_consultation
from tests.e2e.test_authorization import create_admin
from tests.helpers import PASSWORD
from tests.infra import migrated_postgres_database
from tests.live import LiveServer
from tests.webhooks.receiver import Receiver

# Several servers at once: `make test-cluster` (keeps `make test` inside its 20 minutes).
pytestmark = [pytest.mark.slow, pytest.mark.cluster]
ENV = {
    "WEBHOOK_ALLOW_PRIVATE": "true",
    "WEBHOOK_TIMEOUT_S": "1",
    "WEBHOOK_RETRY_BASE_S": "1",
    "WEBHOOK_RETRY_MAX_S": "2",
    "OUTBOX_POLL_S": "1",
}
EXPECTED = [
    "appointment.booked",
    "appointment.checked_in",
    "appointment.started",
    "appointment.completed",
    "summary.published",
]


async def test_two_servers_deliver_one_appointments_events_in_order(tmp_path: Path) -> None:
    with migrated_postgres_database() as url:
        one = LiveServer(url, log_path=tmp_path / "one.log", **ENV)
        two = LiveServer(url, log_path=tmp_path / "two.log", **ENV)
        await asyncio.gather(asyncio.to_thread(one.start), asyncio.to_thread(two.start))
        try:
            async with Receiver(["fail", "hang", "fail", "fail", "fail"]) as receiver:
                async with httpx.AsyncClient(base_url=one.url, timeout=20) as http:
                    admin_email = await asyncio.to_thread(create_admin, one)
                    login = await http.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
                    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
                    made = await http.post(
                        "/api/v1/admin/webhooks", json={"url": receiver.url, "events": EXPECTED}, headers=admin
                    )
                    assert made.status_code == 201, made.text
                    secret = made.json()["secret"]
                    visit = await open_consultation(http)
                    doctor = visit["doctor"]["h"]
                    assert (await http.post(f"/api/v1/consultations/{visit['id']}/complete", headers=doctor)).is_success
                    summary = {"text": "Rest.", "version": 0}
                    saved = await http.put(f"/api/v1/consultations/{visit['id']}/summary", json=summary, headers=doctor)
                    assert saved.status_code == 200, saved.text
                delivered = await receiver.wait_for(5, timeout=90)
        finally:
            await asyncio.gather(asyncio.to_thread(one.stop), asyncio.to_thread(two.stop))
    assert [r.event["type"] for r in delivered] == EXPECTED
    assert len({r.event["id"] for r in delivered}) == 5
    assert all(r.verifies(secret) for r in receiver.received)
    runs = [list(run) for _, run in groupby(receiver.received, key=lambda r: r.event["id"])]
    assert [run[0].event["type"] for run in runs] == EXPECTED  # nothing of a later event before the earlier one
    assert all(run[-1].answer == "ok" and all(r.answer != "ok" for r in run[:-1]) for run in runs)
    for log in ("one.log", "two.log"):
        assert "Traceback" not in (tmp_path / log).read_text()
