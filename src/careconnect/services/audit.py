"""The audit log: append-only records of who read or wrote clinical data, with the outcome."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from careconnect.ids import uuid7
from careconnect.principal import Principal
from careconnect.request_context import request_id_of
from careconnect.tables import AuditEntry

log = logging.getLogger("careconnect.audit")


def client_ip(scope: Any) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


async def record(
    *,
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: str | None,
    outcome: str,
    patient_id: str | None = None,
    scope: Any = None,
) -> None:
    """Append one entry. ``action`` is like ``intake.read``; never pass bodies or tokens."""
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
        ip=client_ip(scope) if scope is not None else "",
        request_id=request_id_of(scope) if scope is not None else "",
    ).save()
