"""Server-pushed events: the seam between REST handlers and the hub.

Handlers call ``await events_of(request).appointment_changed(appointment, user_ids)`` after
a booking, cancellation, reschedule or status change; the hub wiring turns that into an
``appointment`` frame in each ``user:<id>`` room (and ``room_state`` frames for consultation
rooms). Until a hub is attached, ``NullEvents`` drops them.
"""

from __future__ import annotations

from typing import Any, Protocol


class Events(Protocol):
    async def appointment_changed(self, appointment: Any, user_ids: list[str]) -> None:
        """Push ``{"type":"appointment","appointment":…}`` to each user's private room."""

    async def room_state_changed(self, appointment_id: str, state: str) -> None:
        """Push ``{"type":"room_state",…}`` to ``consultation:<appointment_id>``."""


class NullEvents:
    async def appointment_changed(self, appointment: Any, user_ids: list[str]) -> None:
        return None

    async def room_state_changed(self, appointment_id: str, state: str) -> None:
        return None


def events_of(connection: Any) -> Events:
    return getattr(connection.app.state, "events", None) or NullEvents()
