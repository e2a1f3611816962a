"""The hub's wire protocol (PROTOCOL.md): every frame as a msgspec Struct tagged by ``type``.

Inbound frames decode through one tagged union; outbound frames are encoded in
``hub.encoding``, once per codec, and the same bytes go to every member.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Union

import msgspec

from careconnect.hub.attachments import AttachmentRef
from careconnect.hub.bounds import Count, storable

if TYPE_CHECKING:
    from careconnect.hub.store import StoredMessage

MSGPACK_SUBPROTOCOL = "careconnect.v1.msgpack"


class Frame(msgspec.Struct, tag_field="type", omit_defaults=True):
    """Base of every frame; unknown fields are ignored when decoding."""


# -- client to server ------------------------------------------------------------------------
class Hello(Frame, tag="hello"):
    token: str = ""
    client: str = ""


class Join(Frame, tag="join"):
    room: str = ""
    since: Count = 0


class Leave(Frame, tag="leave"):
    room: str = ""


class Send(Frame, tag="send"):
    room: str = ""
    id: str = ""
    body: str = ""
    attachments: list[str] = msgspec.field(default_factory=list)  # 1.1: uploaded file ids


class TypingIn(Frame, tag="typing"):
    room: str = ""


class ReadIn(Frame, tag="read"):
    room: str = ""
    seq: Count = 0


class Refresh(Frame, tag="refresh"):
    token: str = ""


class SignalIn(Frame, tag="signal"):
    """A video call's signalling to one online member (never stored): ring, offer, answer, ice, hangup."""

    room: str = ""
    to: str = ""
    kind: str = ""
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Ping(Frame, tag="ping"):
    pass


class Pong(Frame, tag="pong"):
    pass


Inbound = Union[Hello, Join, Leave, Send, TypingIn, ReadIn, Refresh, Ping, Pong, SignalIn]
INBOUND_TYPES = frozenset({"hello", "join", "leave", "send", "typing", "read", "refresh", "ping", "pong", "signal"})


# -- server to client ------------------------------------------------------------------------
class UserRef(msgspec.Struct):
    id: str
    role: str
    name: str


class Member(msgspec.Struct):
    id: str
    role: str
    name: str
    online: bool = False


class Welcome(Frame, tag="welcome"):
    user: UserRef
    session: str
    heartbeat_s: int
    server_time: str


class Joined(Frame, tag="joined"):
    room: str
    last_seq: int
    state: str | None
    members: list[Member]


class Message(Frame, tag="message"):
    room: str
    seq: int
    id: str
    sender: UserRef
    body: str
    ts: str
    kind: str  # "text", or "call" for a call's start and end (PROTOCOL.md 1.1): always sent
    attachments: list[AttachmentRef] = msgspec.field(default_factory=list)  # 1.1; omitted when none


class Ack(Frame, tag="ack"):
    id: str
    room: str
    seq: int
    ts: str


class TypingOut(Frame, tag="typing"):
    room: str
    user: str


class ReadOut(Frame, tag="read"):
    room: str
    user: str
    seq: int


class Presence(Frame, tag="presence"):
    room: str
    user: UserRef
    online: bool


class RoomState(Frame, tag="room_state"):
    room: str
    state: str


class SignalOut(Frame, tag="signal"):
    room: str
    from_: UserRef = msgspec.field(name="from")
    kind: str
    data: dict[str, Any]  # no default: an empty object is still sent


class Error(Frame, tag="error"):
    code: str
    message: str
    ref: str | None = None
    room: str | None = None


_decoder_json = msgspec.json.Decoder(Inbound)
_decoder_msgpack = msgspec.msgpack.Decoder(Inbound)
_any_json = msgspec.json.Decoder()
_any_msgpack = msgspec.msgpack.Decoder()


class NotAFrame(Exception):
    """The bytes are not JSON / MessagePack at all: a protocol violation (close 4400)."""


class BadFrame(Exception):
    """Well-formed data that is not a valid frame: answered with an ``error`` frame."""

    def __init__(self, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


def decode(data: bytes | str, binary: bool) -> Frame:
    """Decode one inbound frame; raises ``NotAFrame`` or ``BadFrame``."""
    buffer = data.encode() if isinstance(data, str) else data
    try:
        frame: Frame = _decoder_msgpack.decode(buffer) if binary else _decoder_json.decode(buffer)
        return frame
    except msgspec.ValidationError as exc:  # a DecodeError too: first
        raise _explain(buffer, binary, str(exc)) from None
    except msgspec.DecodeError:
        pass
    except RecursionError:  # unknown fields are skipped, nested ones recursively
        raise BadFrame(_TOO_DEEP) from None
    except UnicodeDecodeError:  # a string that is not UTF-8 inside a binary frame
        raise BadFrame("the frame holds text that is not UTF-8") from None
    # Not valid for the union: tell garbage from a well-formed object of the wrong shape.
    raise _explain(buffer, binary, None)


_TOO_DEEP = "a frame is a JSON object with a type, not deeply nested data"


def _explain(data: bytes, binary: bool, validation: str | None) -> BadFrame | NotAFrame:
    try:
        raw = _any_msgpack.decode(data) if binary else _any_json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        if binary or (raw := _lone_surrogates(data)) is None:
            return NotAFrame("not JSON" if not binary else "not MessagePack")
        validation = "its text holds a lone surrogate (not Unicode text)"
    except RecursionError:
        return BadFrame(_TOO_DEEP)
    if not isinstance(raw, dict):
        return BadFrame("a frame is a JSON object with a type")
    ref = raw.get("id") if isinstance(raw.get("id"), str) and storable(raw["id"]) else None
    kind = raw.get("type")
    if not isinstance(kind, str):
        return BadFrame("the frame has no type", ref)
    if kind not in INBOUND_TYPES:
        return BadFrame(f"unknown frame type {kind[:40]!r}", ref)
    return BadFrame(f"invalid {kind} frame: {validation or 'wrong field types'}", ref)


def _lone_surrogates(data: bytes) -> Any:
    """JSON that msgspec refuses only for a lone surrogate escape (``"\\ud800"``), else None.

    The grammar allows such escapes, so the frame is answered (``bad_request``, with its ``ref``)
    rather than closed as garbage. Only on the error path: the standard library accepts them.
    """
    if b"\\u" not in data:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


_last_timestamp: tuple[dt.datetime | None, str] = (None, "")


def timestamp(value: dt.datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-11-25T10:00:00.123Z``.

    A committed batch shares one ``created_at`` object, and its ack and message frames each ask
    for it: the last value's text is kept (by identity) and given again.
    """
    global _last_timestamp
    last, text = _last_timestamp
    if value is not None and value is last:
        return text
    moment = (value or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    text = moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" -> "Z"; half strftime's cost
    if value is not None:
        _last_timestamp = (value, text)
    return text


def message_frame(stored: StoredMessage) -> Message:
    """The ``message`` frame of a stored message."""
    return Message(
        room=stored.room,
        seq=stored.seq,
        id=stored.client_id,
        sender=UserRef(id=stored.sender_id, role=stored.sender_role, name=stored.sender_name),
        body=stored.body,
        ts=timestamp(stored.created_at),
        kind=stored.kind,
        attachments=list(stored.attachments),
    )
