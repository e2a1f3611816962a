"""The audit of video calls: who called whom, when, and for how long (no media is ever kept)."""

from __future__ import annotations

from careconnect.domain.audit import service as audit
from careconnect.domain.consultations.rooms import appointment_id_of
from careconnect.principal import Principal


def call_resource(appointment_id: str, caller_id: str, callee_id: str, seconds: float | None) -> str:
    """The entry's ``resource_id``: ``<appointment id> caller=<id> callee=<id>[ duration_s=<n>]``."""
    text = f"{appointment_id} caller={caller_id} callee={callee_id}"
    return text if seconds is None else f"{text} duration_s={round(seconds)}"


async def record_call(
    actor: Principal, room: str, caller_id: str, callee_id: str, seconds: float | None, ip: str
) -> None:
    """``call.started`` (``seconds`` None: the callee accepted) or ``call.ended`` (``actor`` hung up)."""
    appointment_id = appointment_id_of(room)
    if appointment_id is None:
        return
    await audit.record(
        actor=actor,
        action="call.started" if seconds is None else "call.ended",
        resource_type="call",
        resource_id=call_resource(appointment_id, caller_id, callee_id, seconds)[:200],
        patient_id=await audit.patient_of_appointment(appointment_id),
        outcome="success",
        ip=ip,
    )
