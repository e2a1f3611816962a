"""The intake: who may write and read it, what it accepts, until when, and its audit trail."""

from __future__ import annotations

import datetime as dt
import uuid

from careconnect.domain.appointments.state import transition
from careconnect.tables import AuditEntry
from tests.consult_helpers import INTAKE, visit
from tests.helpers import assert_problem, signed_in


def url(appointment_id: str) -> str:
    return f"/api/v1/appointments/{appointment_id}/intake"


async def audit_trail(appointment_id: str | None = None) -> list[dict]:
    query = AuditEntry.select().where(AuditEntry.resource_type == "intake").order_by(AuditEntry.at)
    if appointment_id is not None:
        query = query.where(AuditEntry.resource_id == appointment_id)
    return list(await query)


async def test_patient_writes_their_doctor_reads_and_both_are_audited(client):
    v = await visit(client)
    aid, p, d = v["id"], v["patient_headers"], v["doctor_headers"]
    assert_problem(await client.get(url(aid), headers=p), 404, "not_found")  # nothing submitted yet
    first = await client.put(url(aid), json=INTAKE, headers=p)
    assert first.status_code == 200, first.text
    body = first.json()
    assert {k: body[k] for k in INTAKE} == INTAKE
    assert body["submitted_at"] == body["updated_at"]
    edited = await client.put(url(aid), json={**INTAKE, "allergies": ["penicillin"], "notes": None}, headers=p)
    assert edited.json()["allergies"] == ["penicillin"] and edited.json()["submitted_at"] == body["submitted_at"]
    read = await client.get(url(aid), headers=d)
    assert read.status_code == 200 and read.json()["allergies"] == ["penicillin"]
    assert (await client.get(f"/api/v1/appointments/{aid}", headers=p)).json()["intake_submitted"] is True
    trail = await audit_trail(aid)
    assert [(e["action"], e["outcome"], e["actor_role"]) for e in trail] == [
        ("intake.read", "not_found", "patient"),
        ("intake.write", "success", "patient"),
        ("intake.write", "success", "patient"),
        ("intake.read", "success", "doctor"),
    ]
    assert all(str(e["patient_id"]) == v["patient"]["id"] and e["request_id"] for e in trail)
    # Time-ordered ids (UUIDv7): the audit table's key grows at its right edge.
    for e in trail:
        entry_id = uuid.UUID(str(e["id"]))
        at = e["at"] if e["at"].tzinfo else e["at"].replace(tzinfo=dt.UTC)
        assert entry_id.version == 7
        assert entry_id.int >> 80 == (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    # The answers themselves never reach the audit log.
    everything = str(await AuditEntry.select())
    assert "Headache" not in everything and "penicillin" not in everything


async def test_strangers_get_404_and_are_audited(client):
    v = await visit(client)
    aid = v["id"]
    await client.put(url(aid), json=INTAKE, headers=v["patient_headers"])
    _, other_doctor = await signed_in(client, "doctor")
    _, other_patient = await signed_in(client, "patient")
    for headers in (other_doctor, other_patient):
        assert_problem(await client.get(url(aid), headers=headers), 404, "not_found")
    assert_problem(await client.put(url(aid), json=INTAKE, headers=other_patient), 404, "not_found")
    assert_problem(await client.get(url(str(uuid.uuid4())), headers=other_patient), 404, "not_found")
    assert_problem(await client.get(url("not-a-uuid"), headers=other_patient), 404, "not_found")
    # Only the patient writes: their own doctor may not (and a doctor of another patient learns nothing more).
    assert_problem(await client.put(url(aid), json=INTAKE, headers=v["doctor_headers"]), 403, "forbidden")
    trail = await audit_trail(aid)
    outcomes = [(e["action"], e["outcome"]) for e in trail]
    assert outcomes.count(("intake.read", "not_found")) == 2
    assert ("intake.write", "not_found") in outcomes and ("intake.write", "denied") in outcomes
    assert len(await audit_trail("not-a-uuid")) == 1
    assert_problem(await client.get(url(aid)), 401, "unauthorized")


async def test_answers_are_validated(client):
    v = await visit(client)
    aid, p = v["id"], v["patient_headers"]

    async def field_of(body) -> str:
        response = await client.put(url(aid), json=body, headers=p)
        return str(assert_problem(response, 422, "validation_error")["errors"][0]["field"])

    assert await field_of({**INTAKE, "consent_to_treatment": False}) == "consent_to_treatment"
    no_consent = {k: v for k, v in INTAKE.items() if k != "consent_to_treatment"}
    missing = assert_problem(await client.put(url(aid), json=no_consent, headers=p), 422, "validation_error")
    assert "consent_to_treatment" in missing["errors"][0]["message"]
    assert await field_of({**INTAKE, "chief_complaint": ""}) == "chief_complaint"
    assert await field_of({**INTAKE, "chief_complaint": "   "}) == "chief_complaint"
    assert await field_of({**INTAKE, "chief_complaint": "x" * 501}) == "chief_complaint"
    assert await field_of({**INTAKE, "symptoms": ["x"] * 51}) == "symptoms"
    assert await field_of({**INTAKE, "medications": ["x" * 201]}) == "medications[0]"
    assert await field_of({**INTAKE, "allergies": "peanuts"}) == "allergies"
    assert await field_of({**INTAKE, "notes": "x" * 4001}) == "notes"
    assert await field_of({**INTAKE, "symptom_duration": "x" * 101}) == "symptom_duration"
    minimal = {"chief_complaint": "Cough", "consent_to_treatment": True}
    saved = await client.put(url(aid), json=minimal, headers=p)
    assert saved.status_code == 200 and saved.json()["symptoms"] == [] and saved.json()["notes"] is None


async def test_editable_only_until_the_consultation_starts(client):
    v = await visit(client)
    aid, p = v["id"], v["patient_headers"]
    await transition(aid, "checked_in")
    assert (await client.put(url(aid), json=INTAKE, headers=p)).status_code == 200
    await transition(aid, "in_progress")
    late = await client.put(url(aid), json={**INTAKE, "notes": "too late"}, headers=p)
    assert_problem(late, 409, "invalid_state")
    assert (await client.get(url(aid), headers=v["doctor_headers"])).json()["notes"] == INTAKE["notes"]
    assert (await audit_trail(aid))[-2]["outcome"] == "conflict"
