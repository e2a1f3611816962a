"""Server-pushed events and realtime control: the seam between the business side and the hub.

Services take an ``Events`` (app-level dependency ``events``) and call
``await events.appointment_changed(appointment, user_ids)`` after a booking, cancellation,
reschedule or status change; the hub wiring (``realtime.HubEvents``) turns that into an
``appointment`` frame in each ``user:<id>`` room (and ``room_state`` frames for consultation
rooms). ``disconnect_user`` and ``evict`` act on live sockets on every worker (an account
disabled, a bot removed). Without a hub, ``NullEvents`` drops them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec


@runtime_checkable  # an app-level dependency: Litestar isinstance-checks what it injects
class Events(Protocol):
    async def appointment_changed(self, appointment: msgspec.Struct, user_ids: list[str]) -> None:
        """Push ``{"type":"appointment","appointment":…}`` to each user's private room."""

    async def room_state_changed(self, appointment_id: str, state: str) -> None:
        """Push ``{"type":"room_state",…}`` to ``consultation:<appointment_id>``."""

    async def notification_created(self, user_id: str, notification: msgspec.Struct) -> None:
        """Push ``{"type":"notification","notification":…}`` to ``user:<user_id>`` (after the commit)."""

    async def invited(self, user_id: str, room: str, appointment: msgspec.Struct) -> None:
        """Push ``{"type":"invited","room":…,"appointment":…}`` to the bot's ``user:<user_id>``."""

    async def disconnect_user(self, user_id: str) -> None:
        """Close every socket of ``user_id`` on every worker (the account was disabled)."""

    async def evict(self, user_id: str, room: str) -> None:
        """Take ``user_id`` out of ``room`` on every worker (a bot was removed)."""


class NullEvents:
    async def appointment_changed(self, appointment: msgspec.Struct, user_ids: list[str]) -> None:
        return None

    async def room_state_changed(self, appointment_id: str, state: str) -> None:
        return None

    async def notification_created(self, user_id: str, notification: msgspec.Struct) -> None:
        return None

    async def invited(self, user_id: str, room: str, appointment: msgspec.Struct) -> None:
        return None

    async def disconnect_user(self, user_id: str) -> None:
        return None

    async def evict(self, user_id: str, room: str) -> None:
        return None
