"""The audit log: append-only records of who read or wrote clinical data, or signed in, with the outcome."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from careconnect.ids import uuid7
from careconnect.principal import Principal
from careconnect.request_context import client_ip, request_id_of
from careconnect.tables import AuditEntry, User
from careconnect.tables.scheduling import Appointment

__all__ = ("account_actor", "client_ip", "patient_of_appointment", "record")

log = logging.getLogger("careconnect.audit")


async def record(
    *,
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: str | None,
    outcome: str,
    patient_id: str | None = None,
    scope: Mapping[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Append one entry. ``action`` is like ``intake.read``; never pass bodies, tokens or passwords.

    ``scope`` (a request's) gives the trusted client ip and the request id; ``ip`` is for callers
    without one (the hub's sockets carry their client's address on the principal).
    """
    at = dt.datetime.now(dt.UTC)
    await AuditEntry(
        id=uuid7(at),
        at=at,
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else "anonymous",
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        patient_id=patient_id,
        outcome=outcome,
        ip=(ip if ip is not None else client_ip(scope) if scope is not None else "")[:64],
        request_id=request_id_of(scope) if scope is not None else "",
    ).save()


def account_actor(user: dict[str, Any], session_id: str = "") -> Principal:
    """The actor of an entry about an account's own session (a user row as ``User.select`` gives it)."""
    return Principal(id=str(user["id"]), role=str(user["role"]), name="", session_id=session_id)


async def patient_of_appointment(appointment_id: str | None) -> str | None:
    """The patient of an appointment that exists (for denied attempts' entries), else None."""
    try:
        key = str(uuid.UUID(str(appointment_id)))
    except ValueError:
        return None
    row = await Appointment.select(Appointment.patient).where(Appointment.id == key).first()
    return str(row["patient"]) if row else None


async def patient_exists(patient_id: str) -> bool:
    try:
        key = str(uuid.UUID(patient_id))
    except ValueError:
        return False
    return bool(await User.exists().where((User.id == key) & (User.role == "patient")))
