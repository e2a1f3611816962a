"""The server API for backends, ``POST /rooms/{room}/messages`` (API.md 1.1 "Integrations"), on
SQLite and PostgreSQL: a bot with the publish scope, invited to the room, posts while the room is
writable; the same id again answers the same ack and stores nothing; everyone and everything
else is refused with problem details and stores nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.consult_helpers import open_consultation
from tests.helpers import admin, assert_problem, bearer


async def integration(client: httpx.AsyncClient, admin_headers: dict[str, str], scopes: list[str]) -> dict[str, Any]:
    made = await client.post(
        "/api/v1/admin/integrations", json={"name": "Scribe", "scopes": scopes}, headers=admin_headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["scopes"] == sorted(set(scopes))
    grant = {"grant_type": "client_credentials", "client_id": made.json()["client_id"]}
    grant["client_secret"] = made.json()["client_secret"]
    token = await client.post("/api/v1/auth/token", json=grant)
    assert token.status_code == 200, token.text
    return {**made.json(), "h": bearer(token.json()["access_token"])}


async def invite(client: httpx.AsyncClient, visit: dict[str, Any], bot: dict[str, Any]) -> None:
    invited = await client.post(
        f"/api/v1/consultations/{visit['id']}/participants",
        json={"client_id": bot["client_id"]},
        headers=visit["doctor"]["h"],
    )
    assert invited.status_code == 201, invited.text


async def history(client: httpx.AsyncClient, visit: dict[str, Any]) -> list[dict[str, Any]]:
    page = await client.get(f"/api/v1/consultations/{visit['id']}/messages", headers=visit["doctor"]["h"])
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


async def test_a_publishing_bot_posts_once_per_id(client: httpx.AsyncClient) -> None:
    visit = await open_consultation(client)
    _, admin_headers = await admin(client)
    bot = await integration(client, admin_headers, ["publish"])
    await invite(client, visit, bot)
    url = f"/api/v1/rooms/{visit['room']}/messages"

    first = await client.post(url, json={"id": "triage-1", "body": "  Triage: mild fever.  "}, headers=bot["h"])
    assert first.status_code == 201, first.text
    ack = first.json()
    assert ack["type"] == "ack" and ack["id"] == "triage-1" and ack["room"] == visit["room"] and ack["seq"] == 1
    assert first.headers["cache-control"] == "no-store"
    again = await client.post(url, json={"id": "triage-1", "body": "something else"}, headers=bot["h"])
    assert again.status_code == 200 and again.json() == ack
    (stored,) = await history(client, visit)
    assert stored["body"] == "Triage: mild fever." and stored["seq"] == 1 and stored["id"] == "triage-1"
    assert stored["sender"] == {"id": bot["bot_user_id"], "role": "bot", "name": "Scribe"}

    audit = await client.get(
        "/api/v1/admin/audit",
        params={"actor_id": bot["bot_user_id"], "action": "messages.write"},
        headers=admin_headers,
    )
    entries = audit.json()["items"]
    assert [(e["outcome"], e["resource_id"]) for e in entries] == [("success", visit["id"])]


async def test_hostile_posts_are_refused_and_store_nothing(client: httpx.AsyncClient) -> None:
    visit = await open_consultation(client)
    _, admin_headers = await admin(client)
    bot = await integration(client, admin_headers, ["publish"])
    no_scope = await integration(client, admin_headers, [])
    stranger = await integration(client, admin_headers, ["publish"])  # never invited
    await invite(client, visit, bot)
    await invite(client, visit, no_scope)
    url = f"/api/v1/rooms/{visit['room']}/messages"

    def post(body: Any, headers: dict[str, str] | None = None, to: str = url) -> Any:
        return client.post(to, json=body, headers=headers if headers is not None else bot["h"])

    assert_problem(await post({"id": "a", "body": "x" * 4001}), 422, "validation_error")
    assert_problem(await post({"id": "a", "body": "   \n "}), 422, "validation_error")
    assert_problem(await post({"id": "a", "body": "nul \u0000 here"}), 422, "validation_error")
    assert (await post({"id": "a", "body": "x" * 30_000})).status_code in (400, 422)
    assert (await post({"id": "x" * 65, "body": "hi"})).status_code in (400, 422)
    assert (await post({"id": "", "body": "hi"})).status_code in (400, 422)
    assert (await post({"body": "hi"})).status_code in (400, 422)
    assert (await post(["not", "an", "object"])).status_code in (400, 422)
    unknown = "consultation:00000000-0000-4000-8000-000000000000"
    assert_problem(await post({"id": "a", "body": "hi"}, to=f"/api/v1/rooms/{unknown}/messages"), 404, "not_found")
    for spelling in (visit["room"].upper(), "consultation:42", "user:" + bot["bot_user_id"], "lobby"):
        refused = await post({"id": "a", "body": "hi"}, to=f"/api/v1/rooms/{spelling}/messages")
        assert_problem(refused, 404, "not_found")
    assert_problem(await post({"id": "a", "body": "hi"}, no_scope["h"]), 403, "forbidden")
    assert_problem(await post({"id": "a", "body": "hi"}, stranger["h"]), 404, "not_found")
    assert_problem(await post({"id": "a", "body": "hi"}, visit["patient"]["h"]), 403, "forbidden")
    assert_problem(await post({"id": "a", "body": "hi"}, visit["doctor"]["h"]), 403, "forbidden")
    assert_problem(await post({"id": "a", "body": "hi"}, {}), 401, "unauthorized")
    assert await history(client, visit) == []

    done = await client.post(f"/api/v1/consultations/{visit['id']}/complete", headers=visit["doctor"]["h"])
    assert done.status_code == 200
    assert_problem(await post({"id": "late", "body": "after the visit"}), 409, "invalid_state")
    assert await history(client, visit) == []


async def test_scopes_are_checked_when_an_integration_is_made(client: httpx.AsyncClient) -> None:
    _, admin_headers = await admin(client)
    for scopes in (["admin"], "publish", [1], ["publish"] * 9):
        made = await client.post(
            "/api/v1/admin/integrations", json={"name": "Bad", "scopes": scopes}, headers=admin_headers
        )
        assert made.status_code in (400, 422), made.text
    plain = await client.post("/api/v1/admin/integrations", json={"name": "Plain"}, headers=admin_headers)
    assert plain.status_code == 201 and plain.json()["scopes"] == []
