"""The append-only audit log: who read or wrote what, with the outcome. Never bodies or tokens."""

from __future__ import annotations

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="cc_audit_entry"):
    id = UUID(primary_key=True)
    at = Timestamptz(index=True)
    actor_id = UUID(null=True, default=None, index=True)
    actor_role = Varchar(length=16, default="anonymous")
    action = Varchar(length=64)
    resource_type = Varchar(length=32)
    resource_id = Varchar(length=200, null=True, default=None)
    patient_id = UUID(null=True, default=None, index=True)
    outcome = Varchar(length=16)  # success | denied | not_found | conflict | error
    ip = Varchar(length=64, default="")
    request_id = Varchar(length=64, default="")
