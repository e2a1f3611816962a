"""Every error is problem details with a code and request id; nothing internal leaks."""

from __future__ import annotations

import logging

from tests.helpers import assert_problem, signed_in


async def test_unexpected_exception_is_a_bare_500(client, caplog):
    with caplog.at_level(logging.ERROR, logger="careconnect.errors"):
        response = await client.get("/api/v1/_test/boom", headers={"X-Request-ID": "req-boom-1"})
    body = assert_problem(response, 500, "internal")
    assert body["request_id"] == "req-boom-1"
    text = response.text
    assert "SELECT" not in text and "password_hash" not in text and "Traceback" not in text
    assert "RuntimeError" not in text
    # The log keeps the stack trace and the request id.
    records = [r for r in caplog.records if "req-boom-1" in r.getMessage()]
    assert records and records[0].exc_info is not None


async def test_unknown_route_and_method(client):
    assert_problem(await client.get("/api/v1/no-such-thing"), 404, "not_found")
    response = await client.delete("/api/v1/auth/login")
    assert response.status_code == 405
    assert response.json()["code"] == "bad_request"


async def test_malformed_json_and_wrong_types(client):
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["code"] in ("bad_request", "validation_error")
    response = await client.post("/api/v1/auth/login", json={"email": 5, "password": ["x"]})
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"]


async def test_request_id_is_generated_or_echoed(client):
    response = await client.get("/healthz")
    assert len(response.headers["x-request-id"]) >= 16
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["x-request-id"] != "bad id with spaces"


async def test_unauthenticated_and_wrong_role(client):
    assert_problem(await client.get("/api/v1/users/me"), 401, "unauthorized")
    _, headers = await signed_in(client)
    assert_problem(await client.get("/api/v1/admin/users", headers=headers), 403, "forbidden")


async def test_oversized_body_is_rejected(client):
    response = await client.post(
        "/api/v1/auth/register", content=b"{" + b" " * 2_000_000 + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "bad_request"


async def test_security_headers_on_every_response(client):
    for path in ("/healthz", "/api/v1/users/me", "/schema/openapi.json"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors" in response.headers["content-security-policy"] or path.startswith("/schema")
