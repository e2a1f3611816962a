"""The intake questionnaire: what the patient tells the doctor before the visit.

Editable while the appointment is ``booked`` or ``checked_in``. The write locks the appointment
row (PostgreSQL ``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` write lock), so a doctor
starting the consultation and a late edit cannot interleave: the edit lands before the start or
is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from careconnect.domain.scheduling.availability import write_transaction
from careconnect.errors import ApiError
from careconnect.hub.bounds import NONBLANK_TEXT_PATTERN as NONBLANK_TEXT
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.tables.scheduling import Appointment, Intake

Item = Annotated[str, Meta(min_length=1, max_length=200, pattern=NONBLANK_TEXT)]
Items = Annotated[list[Item], Meta(max_length=50)]


class IntakeIn(msgspec.Struct, kw_only=True):
    chief_complaint: Annotated[str, Meta(min_length=1, max_length=500, pattern=NONBLANK_TEXT)]
    symptoms: Items = []
    symptom_duration: Annotated[str, Meta(max_length=100, pattern=TEXT)] | None = None
    medications: Items = []
    allergies: Items = []
    conditions: Items = []
    notes: Annotated[str, Meta(max_length=4000, pattern=TEXT)] | None = None
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
    """Store the patient's answers (replacing earlier ones); 409 ``invalid_state`` once the visit started."""
    now = dt.datetime.now(dt.UTC)
    payload = msgspec.to_builtins(data)
    async with write_transaction():
        query = Appointment.select(Appointment.status).where(Appointment.id == appointment_id)
        if Appointment._meta.db.engine_type == "postgres":
            query = query.lock_rows("UPDATE")
        appointment = await query.first()
        if appointment is None:
            raise ApiError(404, "not_found", "No such appointment.")
        if appointment["status"] not in EDITABLE:
            raise ApiError(
                409,
                "invalid_state",
                f"The intake can be edited only until the consultation starts (it is {appointment['status']}).",
            )
        if await Intake.exists().where(Intake.appointment == appointment_id):
            await Intake.update({Intake.data: payload, Intake.updated_at: now}).where(
                Intake.appointment == appointment_id
            )
        else:
            await Intake(appointment=appointment_id, data=payload, submitted_at=now, updated_at=now).save()
    result = await intake_out(appointment_id)
    assert result is not None
    return result
