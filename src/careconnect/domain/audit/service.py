"""The audit log: append-only records of who read or wrote clinical data, or signed in, with the outcome.

Two tables hold it: ``cc_audit_entry``, and the stored chat messages, each its own
``messages.write`` entry (``messages.py``); the read side merges them."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from careconnect.domain.audit.schemas import AuditActor, AuditEntryOut, AuditPage
from careconnect.ids import uuid7
from careconnect.pagination import decode_time_cursor, encode_cursor
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


# The audit log's read side (``GET /api/v1/admin/audit``).


async def audit_page(
    *,
    size: int,
    patient_id: str | None = None,
    actor_id: str | None = None,
    since: dt.datetime | None = None,
    action: str | None = None,
    cursor: str | None = None,
) -> AuditPage:
    """The entries matching every filter given, newest first (time, then id), ``size`` at a time.

    Ids are canonical UUIDs and ``since`` is checked already (the caller's 404 and 422); a
    ``cursor`` is one this function handed out as ``next_cursor``.
    """
    query = AuditEntry.select().order_by(AuditEntry.at, ascending=False).order_by(AuditEntry.id, ascending=False)
    if patient_id:
        query = query.where(AuditEntry.patient_id == patient_id)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if action:
        query = query.where(AuditEntry.action == action)
    before = decode_time_cursor(cursor) if cursor else None
    if before:
        at, last_id = before
        query = query.where((AuditEntry.at < at) | ((AuditEntry.at == at) & (AuditEntry.id < last_id)))
    items = [
        AuditEntryOut(
            id=str(r["id"]),
            at=r["at"],
            actor=AuditActor(id=str(r["actor_id"]) if r["actor_id"] else None, role=r["actor_role"]),
            action=r["action"],
            resource_type=r["resource_type"],
            resource_id=r["resource_id"],
            patient_id=str(r["patient_id"]) if r["patient_id"] else None,
            outcome=r["outcome"],
            ip=r["ip"],
            request_id=r["request_id"],
        )
        for r in await query.limit(size + 1)
    ]
    # Imported here: it reads the rooms' names, and the rooms import the accounts, which import this.
    from careconnect.domain.audit import messages

    if action in (None, messages.ACTION):  # stored messages are their own entries (audit/messages.py)
        items += await messages.message_entries(
            limit=size + 1, patient_id=patient_id, actor_id=actor_id, since=since, before=before
        )
        items.sort(key=lambda e: (e.at, e.id), reverse=True)
    next_cursor = None
    if len(items) > size:
        last = items[size - 1]
        next_cursor = encode_cursor(last.at.isoformat(), last.id)
    return AuditPage(items=items[:size], next_cursor=next_cursor)
