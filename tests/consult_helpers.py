"""Booking a consultation through the public API, for tests that need one."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from tests.helpers import signed_in

ALL_DAY = [{"weekday": day, "start": "00:00", "end": "23:50"} for day in range(7)]


async def open_doctor(client: Any, **profile: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A doctor who takes 10-minute slots at any hour (UTC), with no notice needed."""
    doctor, headers = await signed_in(client, "doctor", timezone="UTC", **profile)
    response = await client.put(
        "/api/v1/doctors/me/availability",
        json={
            "timezone": "UTC",
            "slot_minutes": 10,
            "min_notice_minutes": 0,
            "horizon_days": 30,
            "weekly": ALL_DAY,
            "exceptions": [],
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return doctor, headers


async def next_slot(client: Any, doctor_id: str, headers: dict[str, str], *, skip: int = 0) -> str:
    now = dt.datetime.now(dt.UTC)
    response = await client.get(
        f"/api/v1/doctors/{doctor_id}/slots",
        params={"from": (now + dt.timedelta(minutes=1)).isoformat(), "to": (now + dt.timedelta(days=2)).isoformat()},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    slots = response.json()["slots"]
    return str(slots[skip]["starts_at"])


async def book(
    client: Any, doctor_id: str, patient_headers: dict[str, str], *, skip: int = 0, reason: str = "Checkup"
) -> dict[str, Any]:
    starts_at = await next_slot(client, doctor_id, patient_headers, skip=skip)
    response = await client.post(
        "/api/v1/appointments",
        json={"doctor_id": doctor_id, "starts_at": starts_at, "reason": reason},
        headers={**patient_headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


INTAKE = {
    "chief_complaint": "Headache for three days",
    "symptoms": ["headache", "nausea"],
    "symptom_duration": "3 days",
    "medications": ["ibuprofen"],
    "allergies": [],
    "conditions": ["migraine"],
    "notes": "<script>alert(1)</script> worse in the morning",
    "consent_to_treatment": True,
}


async def visit(client: Any) -> dict[str, Any]:
    """A doctor, a patient and a booked appointment starting within the next 10 minutes."""
    doctor, doctor_headers = await open_doctor(client)
    patient, patient_headers = await signed_in(client, "patient", timezone="America/New_York")
    appointment = await book(client, doctor["id"], patient_headers)
    return {
        "doctor": doctor,
        "doctor_headers": doctor_headers,
        "patient": patient,
        "patient_headers": patient_headers,
        "appointment": appointment,
        "id": appointment["id"],
    }
