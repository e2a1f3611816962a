"""The hub's frames (PROTOCOL.md, 1.0 and 1.1) as msgspec Structs, tagged by ``type``.

Server frames decode through one tagged union; a frame whose ``type`` this version does not
know becomes an ``UnknownFrame`` (the protocol only ever adds types), so a newer server never
breaks an older client. Nested REST objects (``appointment``, ``notification``) stay plain
dicts: their schema is the REST API's (``/schema/openapi.json``), not the hub's.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec

__all__ = (
    "Ack",
    "Appointment",
    "Attachment",
    "ClientFrame",
    "Error",
    "Event",
    "Invited",
    "Joined",
    "Member",
    "Message",
    "Notification",
    "Ping",
    "Pong",
    "Presence",
    "Read",
    "RoomState",
    "ServerFrame",
    "Signal",
    "Typing",
    "UnknownFrame",
    "User",
    "Welcome",
)

MSGPACK_SUBPROTOCOL = "careconnect.v1.msgpack"
Encoding = Literal["json", "msgpack"]


class _Frame(msgspec.Struct, tag_field="type", omit_defaults=True):
    """Base of every frame; unknown fields are ignored when decoding."""


# -- nested objects ---------------------------------------------------------------------------
class User(msgspec.Struct, frozen=True):
    id: str
    role: str
    name: str


class Member(msgspec.Struct, frozen=True):
    id: str
    role: str
    name: str
    online: bool = False


class Attachment(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    filename: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None


# -- server to client -------------------------------------------------------------------------
class Welcome(_Frame, tag="welcome"):
    user: User
    session: str
    heartbeat_s: int = 25
    server_time: str = ""


class Joined(_Frame, tag="joined"):
    room: str
    last_seq: int
    state: str | None = None
    members: list[Member] = msgspec.field(default_factory=list)


class Message(_Frame, tag="message"):
    room: str
    seq: int
    id: str
    sender: User
    body: str
    ts: str
    kind: str = "text"  # "call" for a video call's start and end (1.1)
    attachments: list[Attachment] = msgspec.field(default_factory=list)


class Ack(_Frame, tag="ack"):
    id: str
    room: str
    seq: int
    ts: str


class Typing(_Frame, tag="typing"):
    room: str
    user: str


class Read(_Frame, tag="read"):
    room: str
    user: str
    seq: int


class Presence(_Frame, tag="presence"):
    room: str
    user: User
    online: bool


class RoomState(_Frame, tag="room_state"):
    room: str
    state: str


class Signal(_Frame, tag="signal"):
    """A video call's signalling from one member (1.1): ring, offer, answer, ice, hangup."""

    room: str
    from_: User = msgspec.field(name="from")
    kind: str = ""
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Appointment(_Frame, tag="appointment"):
    """An appointment of this user changed (in ``user:<id>``); the REST API's object."""

    appointment: dict[str, Any]


class Notification(_Frame, tag="notification"):
    """A stored notification for this user (1.1, in ``user:<id>``); the REST API's object."""

    notification: dict[str, Any]


class Invited(_Frame, tag="invited"):
    """This bot was invited into ``room`` (1.1, in the bot's ``user:<id>``)."""

    room: str
    appointment: dict[str, Any]


class Error(_Frame, tag="error"):
    code: str
    message: str = ""
    ref: str | None = None
    room: str | None = None


class Ping(_Frame, tag="ping"):
    pass


class Pong(_Frame, tag="pong"):
    pass


class UnknownFrame(msgspec.Struct, frozen=True):
    """A frame of a ``type`` this client does not know (a newer server): kept, not refused."""

    type: str
    data: dict[str, Any]


ServerFrame = Union[
    Welcome,
    Joined,
    Message,
    Ack,
    Typing,
    Read,
    Presence,
    RoomState,
    Signal,
    Appointment,
    Notification,
    Invited,
    Error,
    Ping,
    Pong,
]
#: What ``async for event in client`` yields: every frame but messages, acks and the handshake.
Event = Union[Typing, Read, Presence, RoomState, Signal, Appointment, Notification, Invited, Error, UnknownFrame]
KNOWN_TYPES = frozenset(
    {
        "welcome",
        "joined",
        "message",
        "ack",
        "typing",
        "read",
        "presence",
        "room_state",
        "signal",
        "appointment",
        "notification",
        "invited",
        "error",
        "ping",
        "pong",
    }
)


# -- client to server -------------------------------------------------------------------------
class Hello(_Frame, tag="hello"):
    token: str
    client: str


class Join(_Frame, tag="join"):
    room: str
    since: int = 0


class Leave(_Frame, tag="leave"):
    room: str


class Send(_Frame, tag="send"):
    room: str
    id: str
    body: str
    attachments: list[str] = msgspec.field(default_factory=list)


class SendTyping(_Frame, tag="typing"):
    room: str


class SendRead(_Frame, tag="read"):
    room: str
    seq: int


class SendSignal(_Frame, tag="signal"):
    room: str
    to: str
    kind: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Refresh(_Frame, tag="refresh"):
    token: str


ClientFrame = Union[Hello, Join, Leave, Send, SendTyping, SendRead, SendSignal, Refresh, Ping, Pong]


class BadFrame(Exception):
    """The server sent something that is not a frame, or a known frame of the wrong shape."""


class Codec:
    """Encodes client frames and decodes server frames, as JSON text or MessagePack bytes."""

    def __init__(self, encoding: Encoding) -> None:
        self.binary = encoding == "msgpack"
        if self.binary:
            self._encode_bytes = msgspec.msgpack.Encoder().encode
            self._decoder: Any = msgspec.msgpack.Decoder(ServerFrame)
            self._any: Any = msgspec.msgpack.Decoder()
        else:
            self._encode_bytes = msgspec.json.Encoder().encode
            self._decoder = msgspec.json.Decoder(ServerFrame)
            self._any = msgspec.json.Decoder()

    def encode(self, frame: ClientFrame) -> str | bytes:
        data = self._encode_bytes(frame)
        return data if self.binary else data.decode()

    def decode(self, data: str | bytes) -> ServerFrame | UnknownFrame:
        raw = data.encode() if isinstance(data, str) else data
        try:
            frame: ServerFrame = self._decoder.decode(raw)
            return frame
        except msgspec.DecodeError as exc:  # ValidationError is one too
            try:
                loose = self._any.decode(raw)
            except (msgspec.DecodeError, UnicodeDecodeError):
                raise BadFrame(f"not {'MessagePack' if self.binary else 'JSON'}: {exc}") from None
            if isinstance(loose, dict) and isinstance(kind := loose.get("type"), str) and kind not in KNOWN_TYPES:
                return UnknownFrame(type=kind, data=loose)
            raise BadFrame(f"invalid frame: {exc}") from None
