from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest

from tests.conftest import app_client, make_settings
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
