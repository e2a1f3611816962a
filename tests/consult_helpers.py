"""Consultations for tests, through the public API: the load toolkit's steps
(``careconnect.loadtest.rooms``) with the tests' own people and assertions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from careconnect.loadtest import rooms
from tests.helpers import PASSWORD, signed_in

ALL_DAY = rooms.EVERY_HOUR

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


async def open_doctor(client: httpx.AsyncClient, **profile: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A doctor who takes 10-minute slots at any hour (UTC), with no notice needed."""
    doctor, headers = await signed_in(client, "doctor", timezone="UTC", **profile)
    await rooms.open_hours(client, headers, horizon_days=30)
    return doctor, headers


async def next_slot(client: httpx.AsyncClient, doctor_id: str, headers: dict[str, str], *, skip: int = 0) -> str:
    slots = await rooms.free_slots(client, doctor_id, headers, within=dt.timedelta(days=2))
    return slots[skip]


async def book(
    client: httpx.AsyncClient,
    doctor_id: str,
    patient_headers: dict[str, str],
    *,
    skip: int = 0,
    reason: str = "Checkup",
) -> dict[str, Any]:
    starts_at = await next_slot(client, doctor_id, patient_headers, skip=skip)
    return await rooms.book(client, patient_headers, doctor_id, starts_at, reason=reason)


async def visit(client: httpx.AsyncClient) -> dict[str, Any]:
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


def _person(person: rooms.Person) -> dict[str, Any]:
    return {"id": person.id, "token": person.token, "h": person.headers}


async def open_consultation(http: httpx.AsyncClient) -> dict[str, Any]:
    """A doctor and a patient in a consultation in progress (its room is writable), as dicts:
    ``id``, ``room``, and ``doctor`` / ``patient`` with ``id``, ``token`` and ``h`` (auth headers)."""
    opened = await rooms.open_consultation(http, label="Test", password=PASSWORD, reason="Cough")
    return {"id": opened.id, "room": opened.room, "doctor": _person(opened.doctor), "patient": _person(opened.patient)}


async def open_visit(http: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any], str]:
    """``open_consultation`` as (doctor, patient, appointment id)."""
    opened = await open_consultation(http)
    return opened["doctor"], opened["patient"], opened["id"]
