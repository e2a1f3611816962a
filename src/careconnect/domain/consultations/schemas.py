"""The consultation API's shapes: the message page, notes and summary, invited bots, history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from careconnect.domain.appointments.schemas import AppointmentOut
from careconnect.hub.attachments import AttachmentRef
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.hub.bounds import Count
from careconnect.hub.encoding import encode_json
from careconnect.hub.protocol import message_frame
from careconnect.hub.store import StoredMessage

MAX_TEXT = 20_000


class Sender(msgspec.Struct):
    """The OpenAPI name of the hub's ``UserRef`` inside a ``message`` frame."""

    id: str
    role: str
    name: str


class MessageFrame(msgspec.Struct, kw_only=True):
    """The OpenAPI description of the hub's ``message`` frame (``hub.protocol.Message``).

    It documents the REST page; the page's bytes are the hub's own (``message_page_json``), so a
    message reads byte for byte the same over REST and over the socket.
    """

    type: str = "message"
    room: str
    seq: int
    id: str
    sender: Sender
    body: str
    ts: str
    kind: str = "text"  # or "call": a video call's start or end (PROTOCOL.md 1.1)
    attachments: list[AttachmentRef] = msgspec.field(default_factory=list)  # 1.1: its files (omitted when none)


class MessagePage(msgspec.Struct, kw_only=True):
    items: list[MessageFrame]
    has_more: bool


class MessageSlice(msgspec.Struct, frozen=True):
    """A page of a room's stored messages, in seq order, as the store gave them."""

    messages: list[StoredMessage]
    has_more: bool


class _EncodedPage(msgspec.Struct):
    items: list[msgspec.Raw]
    has_more: bool


_page_encoder = msgspec.json.Encoder()


def message_page_json(page: MessageSlice) -> bytes:
    """A ``MessagePage``'s JSON: each item is the ``message`` frame the hub sends, encoded by the
    hub's encoder (``hub.encoding.encode_json(hub.protocol.message_frame(stored))``)."""
    items = [msgspec.Raw(encode_json(message_frame(stored))) for stored in page.messages]
    return _page_encoder.encode(_EncodedPage(items=items, has_more=page.has_more))


class InviteIn(msgspec.Struct, kw_only=True):
    client_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=TEXT)]


class Participant(msgspec.Struct, kw_only=True):
    client_id: str
    bot_user_id: str
    name: str
    invited_at: dt.datetime


class Invitable(msgspec.Struct, kw_only=True):
    """An integration a doctor can invite into a consultation (``GET /integrations``)."""

    client_id: str
    name: str


class DocumentIn(msgspec.Struct, kw_only=True):
    text: Annotated[str, Meta(max_length=MAX_TEXT, pattern=TEXT)]
    version: Count | None = None


class DocumentOut(msgspec.Struct, kw_only=True):
    text: str
    version: int
    updated_at: dt.datetime | None


class PatientOut(msgspec.Struct, kw_only=True):
    id: str
    full_name: str
    email: str
    timezone: str


class HistoryEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    # ``AppointmentOut`` and ``IntakeOut``, documented as any value (the published schema).
    appointment: Any
    intake: Any = None
    summary: DocumentOut | None = None
    notes: DocumentOut | None = None


class HistoryOut(msgspec.Struct, kw_only=True):
    patient: PatientOut
    appointments: list[HistoryEntry]


class InvitedRoom(msgspec.Struct, kw_only=True):
    """A room a bot is invited to now, as the ``invited`` frame announced it."""

    room: str
    appointment: AppointmentOut
    invited_at: dt.datetime


class InvitedRooms(msgspec.Struct, kw_only=True):
    rooms: list[InvitedRoom]


class QueueOut(msgspec.Struct, kw_only=True):
    """A visit's place in its doctor's waiting room queue (``GET /consultations/{id}/queue``)."""

    status: str
    #: 1 for the next patient the doctor sees; null unless this visit is checked in.
    position: int | None
    #: How many of the doctor's patients are checked in now (this one included).
    waiting: int
    #: The doctor is in another visit right now.
    doctor_busy: bool
