"""Webhook events, written in the transaction of the change that causes them.

The services call ``appointment(type, id)`` or ``summary_published(...)`` inside their own
``write_transaction()``, after the write: this finds the live webhooks that take the event and
queues one outbox job per webhook (kind ``webhook``), so an event exists if and only if its
change committed. The job's topic, ``webhook:<webhook>:<appointment>``, is what keeps one
appointment's events in order for each receiver (``delivery.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from careconnect.domain.appointments.queries import appointment_out
from careconnect.domain.webhooks.schemas import STATUS_EVENTS, Delivery, Event, EventType
from careconnect.hub.protocol import timestamp
from careconnect.tables import Webhook

if TYPE_CHECKING:
    from careconnect.domain.notifications.outbox import Outbox

WEBHOOK = "webhook"


def topic_of(webhook_id: str, appointment_id: str) -> str:
    return f"{WEBHOOK}:{webhook_id}:{appointment_id}"


class WebhookEvents:
    """Queues events for the webhooks that take them. Args: the app's outbox, and a clock."""

    def __init__(self, outbox: Outbox, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.outbox = outbox
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    async def status_changed(self, appointment_id: str, status: str) -> int:
        """The event of an appointment's move to ``status`` (``checked_in`` -> ``appointment.checked_in``)."""
        return await self.appointment(STATUS_EVENTS[status], appointment_id)

    async def appointment(self, type_: EventType, appointment_id: str) -> int:
        """``{"appointment": {…as the REST API…}}``; returns how many deliveries were queued."""
        return await self._emit(type_, appointment_id, lambda: self._appointment_data(appointment_id))

    async def summary_published(self, appointment_id: str, version: int, updated_at: dt.datetime) -> int:
        """A summary was saved with text: ``{"appointment": …, "summary": {version, updated_at}}``
        (never the text itself; the patient reads it in the app)."""

        async def data() -> dict[str, Any]:
            return {
                **await self._appointment_data(appointment_id),
                "summary": {"version": version, "updated_at": timestamp(updated_at)},
            }

        return await self._emit("summary.published", appointment_id, data)

    async def _appointment_data(self, appointment_id: str) -> dict[str, Any]:
        return {"appointment": msgspec.to_builtins(await appointment_out(appointment_id))}

    async def _emit(self, type_: EventType, appointment_id: str, data: Callable[[], Any]) -> int:
        rows = (
            await Webhook.select(Webhook.id, Webhook.events).where(Webhook.deleted_at.is_null()).output(load_json=True)
        )
        targets = [str(r["id"]) for r in rows if isinstance(r["events"], list) and type_ in r["events"]]
        if not targets:
            return 0
        now = self.clock()
        event = Event(id=f"evt_{uuid.uuid4().hex}", type=type_, created_at=timestamp(now), data=await data())
        queued = 0
        for webhook_id in targets:
            queued += await self.outbox.enqueue(
                WEBHOOK,
                Delivery(webhook_id=webhook_id, event=event),
                key=f"{WEBHOOK}:{webhook_id}:{event.id}",
                topic=topic_of(webhook_id, appointment_id),
            )
        return queued
