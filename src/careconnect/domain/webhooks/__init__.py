"""Webhooks: signed POSTs of appointment and summary events to the URLs an admin registered,
queued in the transaction of the change through the durable outbox (docs/integrations.md)."""

from __future__ import annotations

from careconnect.domain.webhooks.events import WEBHOOK, WebhookEvents
from careconnect.domain.webhooks.schemas import EVENT_TYPES, Event, EventType
from careconnect.domain.webhooks.signing import HEADER, signature_header, verify

__all__ = ("EVENT_TYPES", "HEADER", "WEBHOOK", "Event", "EventType", "WebhookEvents", "signature_header", "verify")
