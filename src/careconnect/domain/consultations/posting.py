"""The server API for backends (API.md 1.1 "Integrations"): an integration's bot posts into a
consultation room over HTTP, ``POST /rooms/{room}/messages {id, body}``.

The same rules as the hub's ``send`` (PROTOCOL.md "Messages"): only a member (a bot the doctor
invited), only while the consultation is ``checked_in`` or ``in_progress``, a body of 1 to
4,000 characters after trimming, the per-user send limit shared with the bot's sockets, and
idempotent by ``id`` (the same id again answers the original ack and stores nothing). On top,
the integration must have the ``publish`` scope. The message then takes the socket's path
through the hub (``Hub.post``): stored (the row is its own ``messages.write`` audit entry), then broadcast
to the room on every worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Protocol, runtime_checkable

import msgspec
from msgspec import Meta

from careconnect.domain.audit.service import client_ip, patient_of_appointment, record
from careconnect.domain.consultations.rooms import WRITABLE_STATES, appointment_id_of, membership
from careconnect.domain.errors import Conflict, Forbidden, NotFound, RateLimited, invalid
from careconnect.hub.bounds import has_nul
from careconnect.hub.protocol import timestamp
from careconnect.hub.store import Appended, NewMessage, StoredMessage
from careconnect.tables import Integration

if TYPE_CHECKING:
    from careconnect.domain.consultations.service import Caller

PUBLISH = "publish"


class MessageIn(msgspec.Struct, kw_only=True):
    id: Annotated[str, Meta(min_length=1, max_length=64)]
    body: Annotated[str, Meta(max_length=20_000)]  # the 4,000-character rule applies after trimming


class AckOut(msgspec.Struct, kw_only=True):
    """The hub's ``ack`` frame: the message is durably stored as ``seq`` in ``room``."""

    type: Literal["ack"] = "ack"
    id: str
    room: str
    seq: int
    ts: str


@runtime_checkable
class MessagePoster(Protocol):
    """What the server API needs of the realtime side (``realtime.HubEvents`` is one)."""

    async def post_message(self, message: NewMessage) -> Appended: ...

    async def may_send(self, user_id: str) -> bool: ...


def ack_of(stored: StoredMessage) -> AckOut:
    return AckOut(id=stored.client_id, room=stored.room, seq=stored.seq, ts=timestamp(stored.created_at))


class ServerMessages:
    """Args: the hub side, and the longest body (PROTOCOL.md: 4,000 characters)."""

    def __init__(self, poster: MessagePoster, max_body_chars: int = 4000) -> None:
        self.poster = poster
        self.max_body_chars = max_body_chars

    async def post(self, caller: Caller, room: str, data: MessageIn) -> tuple[AckOut, bool]:
        """The ack, and whether this call stored the message (False: a repeat of its id)."""
        principal = caller.principal
        if principal.role != "bot":
            raise Forbidden("The server API is for integrations' bots; people send over the hub (/ws).")
        integration = (
            await Integration.select(Integration.scopes)
            .where(Integration.bot_user == principal.id)
            .output(load_json=True)
            .first()
        )
        scopes = integration["scopes"] if integration and isinstance(integration["scopes"], list) else []
        if PUBLISH not in scopes:
            raise Forbidden(
                "This integration has no publish scope; an admin makes one with "
                'POST /admin/integrations {"name": …, "scopes": ["publish"]}.'
            )
        appointment_id = appointment_id_of(room)
        member = await membership(principal, appointment_id) if appointment_id else None
        if member is None:
            await record(
                actor=principal,
                action="messages.write",
                resource_type="messages",
                resource_id=(appointment_id or room)[:200],
                patient_id=await patient_of_appointment(appointment_id),
                outcome="not_found",
                scope=caller.scope,
            )
            raise NotFound("No such room, or this bot is not invited to it.")
        if has_nul(data.id):
            raise invalid("id", "1 to 64 characters, no NUL")
        body = data.body.strip()
        if not body:
            raise invalid("body", "the body is empty")
        if has_nul(body):
            raise invalid("body", "a NUL character cannot be stored")
        if len(body) > self.max_body_chars:
            raise invalid("body", f"at most {self.max_body_chars} characters after trimming")
        if member.status not in WRITABLE_STATES:
            raise Conflict(f"The consultation is {member.status}: the room is read-only.", code="invalid_state")
        if not await self.poster.may_send(principal.id):
            raise RateLimited("Too many messages from this bot: slow down.", retry_after=10)
        appended = await self.poster.post_message(
            NewMessage(
                room=room,
                client_id=data.id,
                sender_id=principal.id,
                sender_role=principal.role,
                sender_name=principal.name,
                body=body,
                sender_address=client_ip(caller.scope),
            )
        )
        return ack_of(appended.message), appended.created
