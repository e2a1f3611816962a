"""Tracing the hub's work, as an optional port: the application passes a ``FrameTracer`` (the
OpenTelemetry one lives in ``careconnect.tracing``) and the hub opens one span per inbound frame
it handles. Without one the hub does no tracing work at all.

A span's attributes never carry a message body, a token or anything a client typed: the frame
type, the room name, the caller's role and the socket's short id.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable


@runtime_checkable
class FrameTracer(Protocol):
    def frame(self, kind: str, room: str | None, role: str, connection: str) -> AbstractContextManager[object]:
        """A span around handling one inbound frame of ``kind`` (``send``, ``join``, ...)."""
        ...
