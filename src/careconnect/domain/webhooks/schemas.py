"""The webhook API's shapes (API.md 1.1 "Integrations") and the event a receiver gets."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta

EventType = Literal[
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.checked_in",
    "appointment.started",
    "appointment.completed",
    "appointment.no_show",
    "summary.published",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
# The event of each status an appointment moves to (the state machine's targets).
STATUS_EVENTS: dict[str, EventType] = {
    "checked_in": "appointment.checked_in",
    "in_progress": "appointment.started",
    "completed": "appointment.completed",
    "cancelled": "appointment.cancelled",
    "no_show": "appointment.no_show",
}


class WebhookIn(msgspec.Struct, kw_only=True):
    url: Annotated[str, Meta(min_length=1, max_length=2048)]
    events: list[EventType]  # at least one; repeats count once (checked by the service)


class WebhookOut(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[EventType]
    created_at: dt.datetime


class WebhookCreated(WebhookOut, kw_only=True):
    """As ``WebhookOut``, with the signing secret: shown here once, never again."""

    secret: str


class WebhookPage(msgspec.Struct, kw_only=True):
    items: list[WebhookOut]
    next_cursor: str | None


class Event(msgspec.Struct, kw_only=True):
    """What a receiver gets as the body: ``id`` is the event's (the same in every retry of it,
    and for every webhook it goes to: dedupe on it), ``created_at`` when it happened."""

    id: str
    type: EventType
    created_at: str  # RFC 3339 UTC with milliseconds, as the hub's times
    data: dict[str, Any]


class Delivery(msgspec.Struct, kw_only=True, frozen=True):
    """An outbox job's payload: one event for one webhook."""

    webhook_id: str
    event: Event
