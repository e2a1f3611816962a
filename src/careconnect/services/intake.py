"""The intake questionnaire: what the patient tells the doctor before the visit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from careconnect.tables.scheduling import Intake

Item = Annotated[str, Meta(min_length=1, max_length=200)]
Items = Annotated[list[Item], Meta(max_length=50)]


class IntakeIn(msgspec.Struct, kw_only=True):
    chief_complaint: Annotated[str, Meta(min_length=1, max_length=500)]
    symptoms: Items = []
    symptom_duration: Annotated[str, Meta(max_length=100)] | None = None
    medications: Items = []
    allergies: Items = []
    conditions: Items = []
    notes: Annotated[str, Meta(max_length=4000)] | None = None
    consent_to_treatment: Literal[True]


class IntakeOut(IntakeIn, kw_only=True):
    submitted_at: dt.datetime
    updated_at: dt.datetime


EDITABLE = frozenset({"booked", "checked_in"})


async def intake_out(appointment_id: str) -> IntakeOut | None:
    row = await Intake.select().where(Intake.appointment == appointment_id).first()
    if row is None:
        return None
    data: Any = row["data"]
    if isinstance(data, str):
        data = msgspec.json.decode(data)
    return msgspec.convert(
        {**data, "submitted_at": row["submitted_at"], "updated_at": row["updated_at"]}, IntakeOut, from_attributes=False
    )


async def save_intake(appointment_id: str, data: IntakeIn) -> IntakeOut:
    now = dt.datetime.now(dt.UTC)
    payload = msgspec.to_builtins(data)
    existing = await Intake.select(Intake.id, Intake.submitted_at).where(Intake.appointment == appointment_id).first()
    if existing is None:
        await Intake(appointment=appointment_id, data=payload, submitted_at=now, updated_at=now).save()
    else:
        await Intake.update({Intake.data: payload, Intake.updated_at: now}).where(Intake.id == existing["id"])
    result = await intake_out(appointment_id)
    assert result is not None
    return result
