"""Every outbound frame is encoded here, once: its JSON, its MessagePack and its WebSocket frame.

A frame is encoded to JSON once (``encode_json``); ``Outgoing`` carries those bytes to every
member and makes each other form at most once, when a socket first needs it: the text for the
ASGI ``send``, MessagePack for the ``careconnect.v1.msgpack`` subprotocol (converted from the
JSON), and the whole unmasked WebSocket frame (``frame_bytes``) that ``hub.wire`` writes
straight to uvicorn's transport. Brokers carry the JSON bytes; nothing else encodes a frame.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from careconnect.hub.protocol import Frame

__all__ = ("Outgoing", "encode_json", "frame_bytes", "json_to_msgpack")

_encoder_json = msgspec.json.Encoder()
_encoder_msgpack = msgspec.msgpack.Encoder()
_any_json = msgspec.json.Decoder()
_TEXT, _BINARY = 0x81, 0x82  # FIN + opcode


def encode_json(frame: Frame) -> bytes:
    return _encoder_json.encode(frame)


def json_to_msgpack(payload: bytes) -> bytes:
    return _encoder_msgpack.encode(_any_json.decode(payload))


def frame_bytes(payload: bytes, *, binary: bool) -> bytes:
    """One unfragmented, unmasked server frame (RFC 6455 section 5.2) carrying ``payload``."""
    first = _BINARY if binary else _TEXT
    n = len(payload)
    if n < 126:
        head = bytes((first, n))
    elif n < 65536:
        head = struct.pack("!BBH", first, 126, n)
    else:
        head = struct.pack("!BBQ", first, 127, n)
    return head + payload


class Outgoing:
    """A frame encoded once; each codec's bytes are made at most once and shared by every member."""

    __slots__ = ("_json", "_msgpack", "_text", "_wire_binary", "_wire_text")

    def __init__(self, json: bytes, msgpack: bytes | None = None) -> None:
        self._json = json
        self._text: str | None = None
        self._msgpack = msgpack
        self._wire_text: bytes | None = None
        self._wire_binary: bytes | None = None

    def wire(self, binary: bool) -> bytes:
        """The whole WebSocket frame (the same bytes for every member; see ``frame_bytes``)."""
        if binary:
            if self._wire_binary is None:
                self._wire_binary = frame_bytes(self.msgpack(), binary=True)
            return self._wire_binary
        if self._wire_text is None:
            self._wire_text = frame_bytes(self._json, binary=False)
        return self._wire_text

    def text(self) -> str:
        if self._text is None:
            self._text = self._json.decode()
        return self._text

    def msgpack(self) -> bytes:
        if self._msgpack is None:
            self._msgpack = json_to_msgpack(self._json)
        return self._msgpack

    @property
    def json(self) -> bytes:
        return self._json
