"""Admin listing, disabling and the audit log."""

from __future__ import annotations

from careconnect.domain.audit.service import record
from tests.helpers import admin, assert_problem, bearer, signed_in


async def test_admin_lists_users_by_role_with_cursor(client):
    _, headers = await admin(client)
    for _ in range(3):
        await signed_in(client, "patient")
    await signed_in(client, "doctor")
    first = await client.get("/api/v1/admin/users", params={"role": "patient", "limit": 2}, headers=headers)
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    second = await client.get(
        "/api/v1/admin/users", params={"role": "patient", "limit": 2, "cursor": page["next_cursor"]}, headers=headers
    )
    rest = second.json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = {u["id"] for u in page["items"]} | {u["id"] for u in rest["items"]}
    assert len(ids) == 3
    assert all(u["role"] == "patient" for u in page["items"] + rest["items"])
    bad = await client.get("/api/v1/admin/users", params={"cursor": "garbage!"}, headers=headers)
    assert_problem(bad, 422, "validation_error")


async def test_disable_unknown_and_malformed_ids(client):
    _, headers = await admin(client)
    assert_problem(
        await client.post("/api/v1/admin/users/00000000-0000-0000-0000-000000000000/disable", headers=headers),
        404,
        "not_found",
    )
    assert_problem(await client.post("/api/v1/admin/users/not-a-uuid/disable", headers=headers), 404, "not_found")


async def test_audit_filters_and_hides_nothing_it_should_not_have(client):
    admin_user, headers = await admin(client)
    patient, patient_headers = await signed_in(client)
    me = await client.get("/api/v1/users/me", headers=patient_headers)
    from careconnect.principal import Principal

    actor = Principal(id=patient["id"], role="patient", name="P", session_id="s")
    await record(
        actor=actor,
        action="intake.read",
        resource_type="intake",
        resource_id="a1",
        patient_id=patient["id"],
        outcome="success",
    )
    await record(
        actor=None, action="intake.read", resource_type="intake", resource_id="a2", patient_id=None, outcome="denied"
    )
    response = await client.get("/api/v1/admin/audit", params={"patient_id": patient["id"]}, headers=headers)
    items = response.json()["items"]
    assert [i["resource_id"] for i in items] == ["a1"]
    assert items[0]["actor"] == {"id": patient["id"], "role": "patient"}
    assert {"at", "action", "resource_type", "patient_id", "outcome", "ip", "request_id"} <= items[0].keys()
    by_actor = await client.get("/api/v1/admin/audit", params={"actor_id": admin_user["id"]}, headers=headers)
    assert [i["action"] for i in by_actor.json()["items"]] == ["auth.login"]  # the admin's own sign-in
    assert me.status_code == 200
    patient_try = await client.get("/api/v1/admin/audit", headers=bearer(patient_headers["Authorization"][7:]))
    assert_problem(patient_try, 403, "forbidden")
