"""Bots a doctor invites into a consultation room: an integration's bot user, by client id.

An invited bot is a member of the room (``rooms.membership`` finds its ``RoomBot`` row) until
the doctor removes it; inviting twice keeps the first invitation.
"""

from __future__ import annotations

import datetime as dt

from careconnect.domain.consultations.schemas import Invitable, Participant
from careconnect.domain.errors import NotFound, invalid
from careconnect.tables import Integration, RoomBot


async def invited(appointment_id: str) -> list[Participant]:
    rows = await RoomBot.select(
        RoomBot.client_id, RoomBot.bot_user, RoomBot.invited_at, RoomBot.bot_user.full_name.as_alias("name")
    ).where(RoomBot.appointment == appointment_id)
    return [
        Participant(
            client_id=r["client_id"], bot_user_id=str(r["bot_user"]), name=r["name"], invited_at=r["invited_at"]
        )
        for r in rows
    ]


async def directory() -> list[Invitable]:
    """The integrations whose bot account is enabled, by name: what a doctor can invite."""
    rows = (
        await Integration.select(Integration.client_id, Integration.name)
        .where(Integration.bot_user.disabled_at.is_null())
        .order_by(Integration.name)
    )
    return [Invitable(client_id=r["client_id"], name=r["name"]) for r in rows]


async def invite(appointment_id: str, client_id: str, invited_by: str) -> Participant:
    """Invite the bot of integration ``client_id`` (422 for an unknown one); idempotent."""
    integration = (
        await Integration.select(Integration.id, Integration.bot_user, Integration.bot_user.full_name.as_alias("name"))
        .where(Integration.client_id == client_id)
        .first()
    )
    if integration is None:
        raise invalid("client_id", "unknown client id", "No integration has that client id.")
    existing = (
        await RoomBot.select(RoomBot.invited_at)
        .where((RoomBot.appointment == appointment_id) & (RoomBot.client_id == client_id))
        .first()
    )
    invited_at: dt.datetime = existing["invited_at"] if existing else dt.datetime.now(dt.UTC)
    if existing is None:
        await RoomBot(
            appointment=appointment_id,
            integration=integration["id"],
            bot_user=integration["bot_user"],
            client_id=client_id,
            invited_by=invited_by,
            invited_at=invited_at,
        ).save()
    return Participant(
        client_id=client_id, bot_user_id=str(integration["bot_user"]), name=integration["name"], invited_at=invited_at
    )


async def remove(appointment_id: str, client_id: str) -> str:
    """Take the bot of ``client_id`` out of the consultation; its bot user's id (404 when not in it)."""
    removed = (
        await RoomBot.delete()
        .where((RoomBot.appointment == appointment_id) & (RoomBot.client_id == client_id))
        .returning(RoomBot.bot_user)
    )
    if not removed:
        raise NotFound("That bot is not in this consultation.")
    return str(removed[0]["bot_user"])


async def rooms_of(bot_user_id: str) -> list[tuple[str, dt.datetime]]:
    """The appointments a bot user is invited into now, oldest invitation first."""
    rows = (
        await RoomBot.select(RoomBot.appointment, RoomBot.invited_at)
        .where(RoomBot.bot_user == bot_user_id)
        .order_by(RoomBot.invited_at)
    )
    return [(str(row["appointment"]), row["invited_at"]) for row in rows]
