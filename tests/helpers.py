"""Small API helpers for tests: register, log in, make admins and bots."""

from __future__ import annotations

import uuid
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from careconnect.domain.accounts.users import create_user

PASSWORD = "correct-horse-battery"


def email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


async def register(client: Any, role: str = "patient", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": extra.pop("email", email(role)),
        "password": extra.pop("password", PASSWORD),
        "full_name": extra.pop("full_name", f"Test {role.title()}"),
        "role": role,
        "timezone": extra.pop("timezone", "Europe/Paris"),
    }
    if role == "doctor":
        body["doctor"] = extra.pop("doctor", {"specialty": "Cardiology", "languages": ["en", "fr"]})
    body.update(extra)
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "password": body["password"]}


async def login(client: Any, user: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": user["email"], "password": user["password"]})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def signed_in(client: Any, role: str = "patient", **extra: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Register and log in; returns (user, auth headers)."""
    user = await register(client, role, **extra)
    tokens = await login(client, user)
    return user, bearer(tokens["access_token"])


async def admin(client: Any) -> tuple[dict[str, Any], dict[str, str]]:
    address = email("admin")
    row = await create_user(email=address, password=PASSWORD, full_name="Admin", role="admin")
    user = {"id": str(row["id"]), "email": address, "password": PASSWORD}
    tokens = await login(client, user)
    return user, bearer(tokens["access_token"])


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    assert {"type", "title", "detail"} <= body.keys()
    return body


def metric(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``, in a Prometheus
    text exposition (``/metrics``); 0 when there is none."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
