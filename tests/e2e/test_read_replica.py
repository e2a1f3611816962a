"""Reads through a real streaming replica (issue 22): ``DATABASE_REPLICA_URL`` on a hot standby of
the server's own primary (``tests/pg_replica.py``). With the standby's replay paused, the
directory does not see a new doctor (it was read on the replica), while every decision made
right after a write is the primary's; resumed, the directory sees it; the standby stopped, its
reads are answered by the primary, never a 500."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from careconnect.loadtest.rooms import book
from tests.consult_helpers import next_slot, open_doctor
from tests.helpers import assert_problem, signed_in
from tests.infra import migrate
from tests.live import LiveServer
from tests.pg_replica import Pair, primary_and_replica

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(240)]


async def test_lag_tolerant_reads_on_a_paused_replica_and_decisions_on_the_primary(tmp_path: Path) -> None:
    with primary_and_replica() as pair:
        pair.primary.sql("CREATE DATABASE cc")
        migrate(pair.primary.url("cc"))
        server = LiveServer(
            pair.primary.url("cc"),
            log_path=tmp_path / "server.log",
            DATABASE_REPLICA_URL=pair.replica.url("cc"),
        ).start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                await _through_the_replica(http, pair)
        finally:
            server.stop()
        log = (tmp_path / "server.log").read_text()
        assert "Traceback" not in log, log[-4000:]
        assert log.count("read replica failed") == 1, log[-4000:]  # the outage, logged once


async def _directory(http: httpx.AsyncClient, headers: dict[str, str], q: str) -> list[str]:
    page = await http.get("/api/v1/doctors", params={"q": q}, headers=headers)
    assert page.status_code == 200, page.text
    return [card["full_name"] for card in page.json()["items"]]


async def _history(http: httpx.AsyncClient, patient_id: str, headers: dict[str, str]) -> list[str]:
    answer = await http.get(f"/api/v1/patients/{patient_id}/history", headers=headers)
    assert answer.status_code == 200, answer.text
    return [entry["appointment"]["id"] for entry in answer.json()["appointments"]]


async def _through_the_replica(http: httpx.AsyncClient, pair: Pair) -> None:
    ada, ah = await open_doctor(http, full_name="Ada Primary", doctor={"specialty": "Cardiology"})
    cy, ch = await open_doctor(http, full_name="Cy Shared", doctor={"specialty": "Dermatology"})
    patient, ph = await signed_in(http, "patient")
    earlier = await book(http, ph, cy["id"], await next_slot(http, cy["id"], ch, skip=5))
    share = await http.patch("/api/v1/users/me", json={"patient": {"share_history": True}}, headers=ph)
    assert share.status_code == 200, share.text
    pair.caught_up()
    assert await _directory(http, ph, "Ada") == ["Ada Primary"]

    pair.pause_replay()
    # (a) a doctor who joins now is on the primary only: the directory, read on the replica, has not seen them
    await open_doctor(http, full_name="Bea Newcomer", doctor={"specialty": "Nephrology"})
    assert await _directory(http, ph, "Bea") == []
    specialties = (await http.get("/api/v1/doctors/specialties", headers=ph)).json()["items"]
    assert "Nephrology" not in [s["name"] for s in specialties]

    # (b) decisions right after a write are the primary's: a booking made now gives Ada the patient at once
    visit = await book(http, ph, ada["id"], await next_slot(http, ada["id"], ah))
    mine = (await http.get("/api/v1/appointments", headers=ph)).json()["items"]
    assert visit["id"] in [a["id"] for a in mine]  # read-your-writes
    intake = await http.put(
        f"/api/v1/appointments/{visit['id']}/intake",
        json={"chief_complaint": "chest pain", "consent_to_treatment": True},
        headers=ph,
    )
    assert intake.status_code == 200, intake.text
    read = await http.get(f"/api/v1/appointments/{visit['id']}/intake", headers=ah)
    assert read.status_code == 200 and read.json()["chief_complaint"] == "chest pain", read.text
    # her own visit from the primary, Cy's shared one (written before the pause) from the replica
    assert await _history(http, patient["id"], ah) == [earlier["id"], visit["id"]]  # Cy's is later
    unshare = await http.patch("/api/v1/users/me", json={"patient": {"share_history": False}}, headers=ph)
    assert unshare.status_code == 200, unshare.text
    assert await _history(http, patient["id"], ah) == [visit["id"]]  # refused at once, replica or not
    cancel = await http.post(f"/api/v1/appointments/{visit['id']}/cancel", json={}, headers=ph)
    assert cancel.status_code == 200, cancel.text
    assert_problem(await http.get(f"/api/v1/patients/{patient['id']}/history", headers=ah), 404, "not_found")

    # (c) replay resumed: the directory shows her
    pair.resume_replay()
    pair.caught_up()
    assert await _directory(http, ph, "Bea") == ["Bea Newcomer"]

    # the replica down: its reads go to the primary, never a 500
    pair.replica.stop()
    await open_doctor(http, full_name="Dee Duringoutage")
    for _ in range(3):
        assert await _directory(http, ph, "Dee") == ["Dee Duringoutage"]
    slots = await http.get(f"/api/v1/doctors/{ada['id']}/slots", headers=ph)
    assert slots.status_code == 200 and slots.json()["slots"], slots.text
    assert (await http.get("/api/v1/doctors/specialties", headers=ph)).status_code == 200
