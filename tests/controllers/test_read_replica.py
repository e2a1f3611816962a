"""Which reads go to DATABASE_REPLICA_URL (the rule is ``careconnect.db.from_replica``), fast.

The "replica" here is a second PostgreSQL database on the test server, migrated but never
written to: a replica whose replay stopped before anything happened. Whatever a request shows
from it was read there; whatever it shows from the primary's rows was read on the primary. The
real streaming replica, paused and resumed, is ``tests/e2e/test_read_replica.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from careconnect.db import REPLICA_REST_S, from_replica, replica_of, write_transaction
from careconnect.loadtest.rooms import book
from careconnect.tables import ALL_TABLES, DoctorProfile
from tests.conftest import app_client, make_settings, wipe
from tests.consult_helpers import next_slot, open_doctor
from tests.helpers import assert_problem, metric, signed_in
from tests.infra import migrated_postgres_database
from tests.live import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def stand_in_replica() -> Iterator[str]:
    with migrated_postgres_database() as url:
        yield url


@pytest.fixture
async def replica_client(postgres_url: str, stand_in_replica: str) -> AsyncIterator[object]:
    async with app_client(make_settings(postgres_url, database_replica_url=stand_in_replica)) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        yield http


async def _visit(client):  # booked from the doctor's own slot list: the patient's would come from the replica
    doctor, dh = await open_doctor(client, full_name="Rita Replica", doctor={"specialty": "Nephrology"})
    patient, ph = await signed_in(client, "patient")
    appointment = await book(client, ph, doctor["id"], await next_slot(client, doctor["id"], dh))
    return doctor, dh, patient, ph, appointment


async def test_the_directory_is_read_on_the_replica_and_decisions_on_the_primary(replica_client) -> None:
    client = replica_client
    doctor, dh, patient, ph, appointment = await _visit(client)
    # the directory, as others see it: from the replica, which has no doctor yet
    assert (await client.get("/api/v1/doctors", headers=ph)).json()["items"] == []
    assert (await client.get("/api/v1/doctors", params={"q": "Rita"}, headers=ph)).json()["items"] == []
    assert (await client.get("/api/v1/doctors/specialties", headers=ph)).json()["items"] == []
    assert_problem(await client.get(f"/api/v1/doctors/{doctor['id']}", headers=ph), 404, "not_found")
    assert_problem(await client.get(f"/api/v1/doctors/{doctor['id']}/slots", headers=ph), 404, "not_found")
    # a doctor's own card and slots: the primary (they may just have changed them)
    own = await client.get(f"/api/v1/doctors/{doctor['id'].upper()}", headers=dh)
    assert own.status_code == 200 and own.json()["specialty"] == "Nephrology", own.text
    assert (await client.get(f"/api/v1/doctors/{doctor['id']}/slots", headers=dh)).json()["slots"]
    # read-your-writes and every decision: the primary
    mine = (await client.get("/api/v1/appointments", headers=ph)).json()["items"]
    assert [a["id"] for a in mine] == [appointment["id"]]
    put = await client.put(
        f"/api/v1/appointments/{appointment['id']}/intake",
        json={"chief_complaint": "headache", "consent_to_treatment": True},
        headers=ph,
    )
    assert put.status_code == 200, put.text
    intake = await client.get(f"/api/v1/appointments/{appointment['id']}/intake", headers=dh)
    assert intake.status_code == 200 and intake.json()["chief_complaint"] == "headache", intake.text
    history = await client.get(f"/api/v1/patients/{patient['id']}/history", headers=dh)
    assert history.status_code == 200, history.text
    entry = history.json()["appointments"][0]
    assert entry["appointment"]["id"] == appointment["id"] and entry["intake"]["chief_complaint"] == "headache"


async def test_other_doctors_shared_visits_come_from_the_replica(replica_client) -> None:
    client = replica_client
    doctor, dh, patient, ph, first = await _visit(client)
    other, oh = await open_doctor(client, full_name="Otto Other")
    second = await book(client, ph, other["id"], await next_slot(client, other["id"], oh, skip=3))
    share = await client.patch("/api/v1/users/me", json={"patient": {"share_history": True}}, headers=ph)
    assert share.status_code == 200, share.text
    # Otto's own visit: the primary; Rita's, shared: the replica, which has not seen it yet
    seen = (await client.get(f"/api/v1/patients/{patient['id']}/history", headers=oh)).json()["appointments"]
    assert [e["appointment"]["id"] for e in seen] == [second["id"]]
    # a doctor who no longer treats the patient is refused at once (the decision is the primary's)
    cancel = await client.post(f"/api/v1/appointments/{first['id']}/cancel", json={}, headers=ph)
    assert cancel.status_code == 200, cancel.text
    refused = await client.get(f"/api/v1/patients/{patient['id']}/history", headers=dh)
    assert_problem(refused, 404, "not_found")


async def test_inside_a_transaction_and_when_asked_reads_stay_on_the_primary(replica_client) -> None:
    await open_doctor(replica_client, full_name="Tara Transaction")
    listed = DoctorProfile.select(DoctorProfile.user)
    assert await from_replica(listed) == []
    assert len(await from_replica(DoctorProfile.select(DoctorProfile.user), stale_ok=False)) == 1
    async with write_transaction():
        assert len(await from_replica(DoctorProfile.select(DoctorProfile.user))) == 1


async def test_a_replica_that_is_down_hands_its_reads_to_the_primary(postgres_url: str, caplog) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"  # nothing listens there
    async with app_client(make_settings(postgres_url, database_replica_url=dead)) as client:
        await wipe(client.app)  # type: ignore[attr-defined]
        doctor, _, _, ph, _ = await _visit(client)
        for _ in range(3):
            page = await client.get("/api/v1/doctors", headers=ph)
            assert page.status_code == 200, page.text
            assert [c["id"] for c in page.json()["items"]] == [doctor["id"]]
        slots = await client.get(f"/api/v1/doctors/{doctor['id']}/slots", headers=ph)
        assert slots.status_code == 200 and slots.json()["slots"], slots.text
        replica = replica_of(ALL_TABLES[0]._meta.db)
        assert replica is not None and replica.failing and not replica.usable()
        warnings = [r for r in caplog.records if "read replica failed" in r.getMessage()]
        assert len(warnings) == 1  # one line per outage, not per read
        scraped = (await client.get("/metrics")).text  # what an operator's alert reads
        assert metric(scraped, "careconnect_db_replica_resting") == 1
        assert metric(scraped, "careconnect_db_replica_handed_to_primary_total") >= 4  # 3 pages + the slots
        assert metric(scraped, "careconnect_db_replica_reads_total") == 0
        assert REPLICA_REST_S > 0


async def test_a_replica_that_hangs_hands_its_reads_to_the_primary(
    postgres_url: str, stand_in_replica: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that accepts the connection but never answers (here: a lock held on the
    directory's table) costs one read its timeout, then the primary answers."""
    import asyncpg

    import careconnect.db

    monkeypatch.setattr(careconnect.db, "REPLICA_COMMAND_TIMEOUT_S", 1.0)
    holder = await asyncpg.connect(stand_in_replica)
    try:
        async with app_client(make_settings(postgres_url, database_replica_url=stand_in_replica)) as client:
            await wipe(client.app)  # type: ignore[attr-defined]
            doctor, _, _, ph, _ = await _visit(client)
            lock = holder.transaction()
            await lock.start()
            await holder.execute("LOCK TABLE cc_doctor_profile IN ACCESS EXCLUSIVE MODE")
            try:
                page = await client.get("/api/v1/doctors", headers=ph)
                assert page.status_code == 200, page.text
                assert [c["id"] for c in page.json()["items"]] == [doctor["id"]]  # the primary's rows
                replica = replica_of(ALL_TABLES[0]._meta.db)
                assert replica is not None and replica.failing
            finally:
                await lock.rollback()
    finally:
        await holder.close()


async def test_the_replica_has_its_own_pool_with_the_pool_mode_and_closes_it(
    postgres_url: str, stand_in_replica: str
) -> None:
    settings = make_settings(postgres_url, database_replica_url=stand_in_replica, database_pool_mode="transaction")
    async with app_client(settings) as client:
        engine = ALL_TABLES[0]._meta.db
        replica = replica_of(engine)
        assert replica is not None and replica.pool is not None and replica.pool is not engine.pool
        assert replica.config["statement_cache_size"] == 0  # PgBouncer in transaction mode: no named statements
        await wipe(client.app)  # type: ignore[attr-defined]
        _, ph = await signed_in(client, "patient")
        assert (await client.get("/api/v1/doctors", headers=ph)).status_code == 200
        scraped = (await client.get("/metrics")).text
        assert metric(scraped, "careconnect_db_replica_reads_total") >= 1
        assert metric(scraped, "careconnect_db_replica_handed_to_primary_total") == 0
        assert metric(scraped, "careconnect_db_replica_resting") == 0
        assert metric(scraped, "careconnect_db_replica_pool_max") == metric(scraped, "careconnect_db_pool_max") == 20
    assert replica.pool is None and engine.pool is None  # closed at shutdown
    async with app_client(make_settings(postgres_url)) as client:
        assert replica_of(ALL_TABLES[0]._meta.db) is None  # without the setting: no replica at all
