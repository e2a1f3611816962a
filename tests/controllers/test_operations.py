from __future__ import annotations


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
