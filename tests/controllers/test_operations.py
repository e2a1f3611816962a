from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY, generate_latest

from careconnect.tables import User
from tests.conftest import app_client, make_settings
from tests.helpers import metric
from tests.infra import REDIS_URL, need_redis
from tests.live import free_port


async def test_health_ready_metrics_schema(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "careconnect_requests_total" in metrics.text
    schema = (await client.get("/schema/openapi.json")).json()
    for path in ("/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/users/me", "/api/v1/admin/audit"):
        assert path in schema["paths"], path


async def test_readyz_checks_redis_when_one_is_configured(database_url):
    need_redis()
    async with app_client(make_settings(database_url, redis_url=REDIS_URL)) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_answers_503_and_names_redis_when_it_is_unreachable(sqlite_url):
    async with app_client(make_settings(sqlite_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")) as http:
        ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable: ConnectionError"},
    }
    assert alive.status_code == 200  # liveness does not depend on the backing services


async def test_each_running_app_exports_its_own_hub_metrics_and_takes_them_away_when_it_stops(sqlite_url):
    def open_socket_gauges() -> int:
        return generate_latest(REGISTRY).decode().count("\ncareconnect_hub_open_sockets ")

    before = open_socket_gauges()
    async with app_client(make_settings(sqlite_url)) as first:
        async with app_client(make_settings(sqlite_url)) as second:
            assert open_socket_gauges() == before + 2
            assert "careconnect_hub_open_sockets 0.0" in (await second.get("/metrics")).text
        assert open_socket_gauges() == before + 1
        assert "careconnect_hub_open_sockets 0.0" in (await first.get("/metrics")).text
    assert open_socket_gauges() == before


async def test_readyz_answers_503_when_a_migration_this_version_ships_is_not_applied(sqlite_url):
    async with app_client(make_settings(sqlite_url)) as http:
        engine = User._meta.db
        (newest,) = await engine.run_ddl("SELECT id, name, app_name, ran_on FROM migration ORDER BY name DESC LIMIT 1")
        await engine.run_ddl("DELETE FROM migration WHERE id = {}".format(int(newest["id"])))
        try:
            ready = await http.get("/readyz")
        finally:
            await engine.run_ddl(
                "INSERT INTO migration (name, app_name, ran_on) VALUES ('{}', '{}', '{}')".format(
                    newest["name"], newest["app_name"], newest["ran_on"]
                )
            )
        again = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unavailable: 1 migration(s) not applied (run careconnect migrate)"
    assert again.status_code == 200


async def test_readyz_gives_up_on_a_redis_that_accepts_but_never_answers(sqlite_url):
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never a reply; until the client goes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = make_settings(sqlite_url, redis_url=f"redis://127.0.0.1:{port}/0", readyz_timeout_s=1.0)
        async with app_client(settings) as http:
            started = time.monotonic()
            ready = await http.get("/readyz")
            took = time.monotonic() - started
    finally:
        server.close()
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] == "unavailable: no answer within 1 s"
    assert took < 10  # bounded by the timeout, not by the silent server


async def test_metrics_count_refusals_by_code_and_show_the_database_pool(database_url):
    async with app_client(make_settings(database_url)) as http:
        before = (await http.get("/metrics")).text
        for _ in range(3):
            wrong = await http.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
            assert wrong.status_code == 401
        anonymous = await http.get("/api/v1/users/me")
        assert anonymous.status_code == 401
        after = (await http.get("/metrics")).text
    codes = {wrong.json()["code"], anonymous.json()["code"]}
    counted = sum(
        metric(after, "careconnect_refusals_total", code=code, status="401")
        - metric(before, "careconnect_refusals_total", code=code, status="401")
        for code in codes
    )
    assert counted == 4
    if database_url.startswith("postgres"):
        assert metric(after, "careconnect_db_pool_max") >= 1
        assert 0 <= metric(after, "careconnect_db_pool_idle") <= metric(after, "careconnect_db_pool_connections")
    else:
        assert "careconnect_db_pool_max" not in after
