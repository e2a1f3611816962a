"""The webhook admin API, on SQLite and PostgreSQL: made by admins only (the secret shown once,
never listed), hostile URLs and events refused with 422 problem details, private addresses
refused unless WEBHOOK_ALLOW_PRIVATE, every write audited."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import app_client, wipe
from tests.helpers import admin, assert_problem, signed_in
from tests.webhooks.conftest import hook_settings

GOOD = {"url": "https://hooks.example.org/careconnect", "events": ["appointment.booked"]}


async def test_admins_make_list_and_delete_webhooks(http: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    made = await http.post(
        "/api/v1/admin/webhooks",
        json={
            "url": "http://127.0.0.1:9/in",
            "events": ["summary.published", "appointment.booked", "summary.published"],
        },
        headers=admin_headers,
    )
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["events"] == ["summary.published", "appointment.booked"] and len(hook["secret"]) > 40
    listed = (await http.get("/api/v1/admin/webhooks", headers=admin_headers)).json()
    assert listed["next_cursor"] is None
    assert [(h["id"], h["url"]) for h in listed["items"]] == [(hook["id"], "http://127.0.0.1:9/in")]
    assert "secret" not in listed["items"][0] and hook["secret"] not in str(listed)

    assert (await http.delete(f"/api/v1/admin/webhooks/{hook['id']}", headers=admin_headers)).status_code == 204
    assert_problem(await http.delete(f"/api/v1/admin/webhooks/{hook['id']}", headers=admin_headers), 404, "not_found")
    assert_problem(await http.delete("/api/v1/admin/webhooks/not-a-uuid", headers=admin_headers), 404, "not_found")
    assert (await http.get("/api/v1/admin/webhooks", headers=admin_headers)).json()["items"] == []

    audit = (await http.get("/api/v1/admin/audit", params={"action": "webhook.delete"}, headers=admin_headers)).json()
    assert sorted(e["outcome"] for e in audit["items"]) == ["not_found", "not_found", "success"]
    created = (await http.get("/api/v1/admin/audit", params={"action": "webhook.create"}, headers=admin_headers)).json()
    assert [(e["outcome"], e["resource_id"]) for e in created["items"]] == [("success", hook["id"])]


async def test_pages_of_webhooks(http: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for i in range(3):
        body = {"url": f"http://127.0.0.1:9/{i}", "events": ["appointment.booked"]}
        assert (await http.post("/api/v1/admin/webhooks", json=body, headers=admin_headers)).status_code == 201
    first = (await http.get("/api/v1/admin/webhooks", params={"limit": 2}, headers=admin_headers)).json()
    second = (
        await http.get(
            "/api/v1/admin/webhooks", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin_headers
        )
    ).json()
    urls = [h["url"] for h in first["items"] + second["items"]]
    assert urls == ["http://127.0.0.1:9/2", "http://127.0.0.1:9/1", "http://127.0.0.1:9/0"]
    assert second["next_cursor"] is None
    bad = await http.get("/api/v1/admin/webhooks", params={"cursor": "garbage"}, headers=admin_headers)
    assert_problem(bad, 422, "validation_error")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.org/x",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://",
        "https:///path-only",
        "hooks.example.org/no-scheme",
        "https://user:pass@hooks.example.org/x",
        "https://user@hooks.example.org/x",
        "https://hooks.example.org/x#frag",
        "https://hooks.example.org:0/x",
        "https://hooks.example.org:99999/x",
        "https://hooks.exa mple.org/x",
        "https://hooks.example.org/x\r\nX-Injected: 1",
        "https://hooks.example.org/\u0000",
        "https://" + "a" * 2100 + ".org/",
    ],
)
async def test_bad_urls_are_refused(http: httpx.AsyncClient, admin_headers: dict[str, str], url: str) -> None:
    refused = await http.post("/api/v1/admin/webhooks", json={**GOOD, "url": url}, headers=admin_headers)
    assert refused.status_code in (400, 422), refused.text
    assert refused.json()["code"] in ("validation_error", "bad_request")
    assert (await http.get("/api/v1/admin/webhooks", headers=admin_headers)).json()["items"] == []


@pytest.mark.parametrize(
    "events",
    [
        [],
        ["appointment.exploded"],
        ["APPOINTMENT.BOOKED"],
        "appointment.booked",
        [None],
        ["appointment.booked", 5],
        {"a": 1},
    ],
)
async def test_unknown_or_missing_events_are_refused(
    http: httpx.AsyncClient, admin_headers: dict[str, str], events: object
) -> None:
    refused = await http.post("/api/v1/admin/webhooks", json={**GOOD, "events": events}, headers=admin_headers)
    body = assert_problem(refused, 422, "validation_error")  # never a 500 (the app has an ``events`` dependency)
    assert body["errors"][0]["field"].startswith("events")


async def test_only_admins_manage_webhooks(http: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    made = (
        await http.post("/api/v1/admin/webhooks", json={**GOOD, "url": "http://127.0.0.1:9/"}, headers=admin_headers)
    ).json()
    for role in ("patient", "doctor"):
        _, headers = await signed_in(http, role)
        assert_problem(await http.post("/api/v1/admin/webhooks", json=GOOD, headers=headers), 403, "forbidden")
        assert_problem(await http.get("/api/v1/admin/webhooks", headers=headers), 403, "forbidden")
        assert_problem(await http.delete(f"/api/v1/admin/webhooks/{made['id']}", headers=headers), 403, "forbidden")
    assert_problem(await http.post("/api/v1/admin/webhooks", json=GOOD), 401, "unauthorized")
    assert len((await http.get("/api/v1/admin/webhooks", headers=admin_headers)).json()["items"]) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.64.0.1/x",
        "http://224.0.0.1/x",
    ],
)
async def test_private_addresses_are_refused_unless_allowed(sqlite_url: str, tmp_path: Path, url: str) -> None:
    async with app_client(hook_settings(sqlite_url, tmp_path, webhook_allow_private=False)) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        _, headers = await admin(http)
        refused = await http.post("/api/v1/admin/webhooks", json={**GOOD, "url": url}, headers=headers)
        assert_problem(refused, 422, "validation_error")
        assert refused.json()["errors"][0]["field"] == "url"
