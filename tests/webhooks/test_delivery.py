"""Webhooks end to end, on SQLite and PostgreSQL: a real receiver on loopback that fails its
first attempts (500s, then a timeout) still gets every event, signed, deduplicable by id (a
failed attempt and its retry carry the same id), and one appointment's events in order: a later
one is never attempted before the earlier one was delivered."""

from __future__ import annotations

import asyncio
import datetime as dt
from itertools import groupby
from pathlib import Path
from typing import Any

import httpx

from careconnect.loadtest import rooms
from careconnect.tables.outbox import OutboxJob
from tests.conftest import app_client, wipe
from tests.consult_helpers import next_slot, open_consultation, visit
from tests.controllers.test_visit_closing import ended
from tests.helpers import PASSWORD, admin, signed_in
from tests.webhooks.conftest import hook_settings
from tests.webhooks.receiver import Received, Receiver

ALL = [
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.checked_in",
    "appointment.started",
    "appointment.completed",
    "appointment.no_show",
    "summary.published",
]


async def register(http: httpx.AsyncClient, admin: dict[str, str], url: str, events: list[str]) -> dict[str, Any]:
    made = await http.post("/api/v1/admin/webhooks", json={"url": url, "events": events}, headers=admin)
    assert made.status_code == 201, made.text
    return dict(made.json())


def appointment_of(received: Received) -> str:
    return str(received.event["data"]["appointment"]["id"])


def attempts_by_appointment(received: list[Received]) -> dict[str, list[Received]]:
    by: dict[str, list[Received]] = {}
    for r in received:
        by.setdefault(appointment_of(r), []).append(r)
    return by


async def test_a_failing_receiver_gets_every_event_signed_once_deduplicable_and_in_order(
    http: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    async with Receiver(["fail", "fail", "hang", "fail"]) as flaky, Receiver() as steady:
        hook = await register(http, admin_headers, flaky.url, ALL)
        only_cancels = await register(http, admin_headers, steady.url, ["appointment.cancelled"])
        assert hook["secret"].startswith("whsec_") and hook["secret"] != only_cancels["secret"]

        # A: booked, checked in, started (the room opens), completed, its summary published.
        visit = await open_consultation(http)
        doctor = visit["doctor"]
        done = await http.post(f"/api/v1/consultations/{visit['id']}/complete", headers=doctor["h"])
        assert done.status_code == 200, done.text
        summary = await http.put(
            f"/api/v1/consultations/{visit['id']}/summary",
            json={"text": "Rest and fluids.", "version": 0},
            headers=doctor["h"],
        )
        assert summary.status_code == 200, summary.text
        # B: another patient books the same doctor, moves the visit, then cancels it.
        _, patient_b = await signed_in(http, "patient", password=PASSWORD)
        starts = await next_slot(http, doctor["id"], patient_b, skip=3)
        b = await rooms.book(http, patient_b, doctor["id"], starts, reason="Follow-up")
        moved_to = await next_slot(http, doctor["id"], patient_b, skip=5)
        moved = await http.post(
            f"/api/v1/appointments/{b['id']}/reschedule", json={"starts_at": moved_to}, headers=patient_b
        )
        assert moved.status_code == 200, moved.text
        cancelled = await http.post(
            f"/api/v1/appointments/{b['id']}/cancel", json={"reason": "Better"}, headers=patient_b
        )
        assert cancelled.status_code == 200, cancelled.text

        expected = {
            visit["id"]: [
                "appointment.booked",
                "appointment.checked_in",
                "appointment.started",
                "appointment.completed",
                "summary.published",
            ],
            b["id"]: ["appointment.booked", "appointment.rescheduled", "appointment.cancelled"],
        }
        delivered = await flaky.wait_for(8)
        (cancel_only,) = await steady.wait_for(1)

    # Every event arrived, signed with the webhook's own secret; each id once among the successes.
    assert all(r.verifies(hook["secret"]) for r in flaky.received)
    assert not any(r.verifies(only_cancels["secret"]) for r in flaky.received)
    assert len({r.event["id"] for r in delivered}) == len(delivered) == 8
    for r in flaky.received:
        event = r.event
        assert set(event) == {"id", "type", "created_at", "data"}
        assert r.headers["careconnect-event-id"] == event["id"]
        assert r.headers["careconnect-event-type"] == event["type"]
        assert r.headers[":request-line"] == "POST /hooks/careconnect?source=test HTTP/1.1"
        dt.datetime.fromisoformat(event["created_at"])
    # The receiver's failures were retried with the same event id: a receiver dedupes on it.
    failed = [r for r in flaky.received if r.answer != "ok"]
    assert len(failed) == 4
    assert {r.event["id"] for r in failed} <= {r.event["id"] for r in delivered}

    # In order per appointment: its attempts come in runs, one event after another, each run
    # ending with the delivery; nothing of a later event before an earlier one was delivered.
    for appointment_id, attempts in attempts_by_appointment(flaky.received).items():
        runs = [(event_id, list(run)) for event_id, run in groupby(attempts, key=lambda r: r.event["id"])]
        assert [run[0].event["type"] for _, run in runs] == expected[appointment_id]
        assert all(run[-1].answer == "ok" for _, run in runs)
        assert all(r.answer != "ok" for _, run in runs for r in run[:-1])
        for _, run in runs:  # each attempt of an event counted: 1, 2, 3, ...
            assert [int(r.headers["careconnect-delivery-attempt"]) for r in run] == list(range(1, len(run) + 1))
    assert appointment_of(delivered[0]) in expected
    b_status = {
        r.event["type"]: r.event["data"]["appointment"]["status"] for r in delivered if appointment_of(r) == b["id"]
    }
    assert b_status == {
        "appointment.booked": "booked",
        "appointment.rescheduled": "booked",
        "appointment.cancelled": "cancelled",
    }
    published = next(r.event for r in delivered if r.event["type"] == "summary.published")
    assert published["data"]["summary"]["version"] == 1 and "text" not in published["data"]["summary"]

    # The other webhook took only what it asked for, signed with its own secret.
    assert cancel_only.event["type"] == "appointment.cancelled" and appointment_of(cancel_only) == b["id"]
    assert cancel_only.verifies(only_cancels["secret"])


async def test_a_deleted_webhook_gets_nothing_more(http: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    async with Receiver() as receiver:
        kept = await register(http, admin_headers, receiver.url + "&kept=1", ["appointment.booked"])
        gone = await register(http, admin_headers, receiver.url + "&gone=1", ["appointment.booked"])
        removed = await http.delete(f"/api/v1/admin/webhooks/{gone['id']}", headers=admin_headers)
        assert removed.status_code == 204
        await open_consultation(http)
        (only,) = await receiver.wait_for(1)
        assert only.verifies(kept["secret"]) and "kept=1" in only.headers[":request-line"]
    # The event was written for the live webhook only, in the booking's transaction.
    jobs = await OutboxJob.select(OutboxJob.dedupe_key).where(OutboxJob.kind == "webhook")
    assert [j["dedupe_key"].split(":")[1] for j in jobs] == [kept["id"]]


async def test_a_redirect_is_a_failure_never_followed(http: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    async with Receiver() as elsewhere:
        async with Receiver(["redirect"], redirect_to=elsewhere.url) as receiver:
            await register(http, admin_headers, receiver.url, ["appointment.booked"])
            await open_consultation(http)
            (delivered,) = await receiver.wait_for(1)
        assert [r.answer for r in receiver.received] == ["redirect", "ok"]
        assert receiver.received[0].event["id"] == delivered.event["id"]
        assert elsewhere.received == []


async def test_a_visit_the_server_closes_is_announced_too(
    http: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The visit nobody came to becomes no_show by the outbox's close job: its event is written
    in that move's transaction, after the booking's."""
    async with Receiver() as receiver:
        await register(http, admin_headers, receiver.url, ["appointment.booked", "appointment.no_show"])
        v = await visit(http)
        await ended(v["id"], dt.timedelta(minutes=31))
        booked, no_show = await receiver.wait_for(2)
    assert (booked.event["type"], no_show.event["type"]) == ("appointment.booked", "appointment.no_show")
    assert no_show.event["data"]["appointment"]["status"] == "no_show" and appointment_of(no_show) == v["id"]


async def test_a_hanging_receiver_does_not_hold_back_another(database_url: str, tmp_path: Path) -> None:
    """While one receiver holds its delivery open (a 30 s timeout), another webhook's deliveries
    of later events go through while the hung attempts are still open (none retried yet)."""
    async with app_client(hook_settings(database_url, tmp_path, webhook_timeout_s=30.0)) as client:
        await wipe(client.app)  # type: ignore[attr-defined]
        _, headers = await admin(client)
        async with Receiver(["hang"] * 5, hang_s=60) as stuck, Receiver() as steady:
            await register(client, headers, stuck.url, ["appointment.booked"])
            await register(client, headers, steady.url, ["appointment.booked", "appointment.started"])
            await open_consultation(client)
            while not stuck.received:
                stuck.changed.clear()
                async with asyncio.timeout(30):
                    await stuck.changed.wait()
            await open_consultation(client)  # another visit, booked while the first delivery hangs
            await steady.wait_for(4, timeout=25)
            # Every attempt it saw is still hanging (none was retried yet: their timeouts have not run out).
            ids = [r.event["id"] for r in stuck.received]
            assert all(r.answer == "hang" for r in stuck.received) and len(set(ids)) == len(ids) <= 2
