"""Webhook subscriptions an admin made (API.md 1.1 "Integrations"); their deliveries are outbox
jobs of kind ``webhook`` (``domain/webhooks``)."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from careconnect.tables.accounts import User


class Webhook(Table, tablename="cc_webhook"):
    """One receiver: its URL, the event types it takes, and its signing secret, sealed with a key
    derived from ``SECRET_KEY`` (the server needs the secret itself to sign, so it cannot be a
    hash). ``deleted_at`` set: it takes no new events; deliveries already queued are skipped."""

    id = UUID(primary_key=True)
    url = Varchar(length=2048)
    events = JSON(default=[])
    secret_sealed = Text()
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz()
    deleted_at = Timestamptz(null=True, default=None, index=True)
