"""The intake questionnaire: what the patient tells the doctor before the visit.

Editable while the appointment is ``booked`` or ``checked_in``. The write locks the appointment
row (PostgreSQL ``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` write lock), so a doctor
starting the consultation and a late edit cannot interleave: the edit lands before the start or
is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from careconnect.db import from_replica, write_transaction
from careconnect.domain.appointments.schemas import IntakeIn, IntakeOut
from careconnect.domain.errors import Conflict, NotFound
from careconnect.tables.scheduling import Appointment, Intake

__all__ = ("EDITABLE", "IntakeIn", "IntakeOut", "intake_out", "save_intake")

EDITABLE = frozenset({"booked", "checked_in"})


async def intake_out(appointment_id: str, *, stale_ok: bool = False) -> IntakeOut | None:
    """The submitted intake, or None when the patient has not filled it in yet (``stale_ok``: from the replica)."""
    row = await from_replica(Intake.select().where(Intake.appointment == appointment_id).first(), stale_ok=stale_ok)
    if row is None:
        return None
    data: Any = row["data"]
    if isinstance(data, str):
        data = msgspec.json.decode(data)
    return msgspec.convert(
        {**data, "submitted_at": row["submitted_at"], "updated_at": row["updated_at"]}, IntakeOut, from_attributes=False
    )


async def save_intake(appointment_id: str, data: IntakeIn) -> IntakeOut:
    """Store the patient's answers (replacing earlier ones); ``Conflict`` ``invalid_state`` once the visit started."""
    now = dt.datetime.now(dt.UTC)
    payload = msgspec.to_builtins(data)
    async with write_transaction():
        query = Appointment.select(Appointment.status).where(Appointment.id == appointment_id)
        if Appointment._meta.db.engine_type == "postgres":
            query = query.lock_rows("UPDATE")
        appointment = await query.first()
        if appointment is None:
            raise NotFound("No such appointment.")
        if appointment["status"] not in EDITABLE:
            raise Conflict(
                f"The intake can be edited only until the consultation starts (it is {appointment['status']}).",
                code="invalid_state",
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
