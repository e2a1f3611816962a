"""The audit log as the API shows it (``GET /api/v1/admin/audit``)."""

from __future__ import annotations

import datetime as dt

import msgspec


class AuditActor(msgspec.Struct, kw_only=True):
    id: str | None
    role: str


class AuditEntryOut(msgspec.Struct, kw_only=True):
    id: str
    at: dt.datetime
    actor: AuditActor
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: str | None
    outcome: str
    ip: str
    request_id: str


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntryOut]
    next_cursor: str | None
