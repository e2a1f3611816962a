"""Files carried by messages (PROTOCOL.md 1.1 "Attachments"): what a ``message`` frame says of
each, and the port through which the application vouches for the ids a ``send`` names.

The hub stores no files and knows no tables: the application uploads them over HTTP and, when
a ``send`` names them, ``AttachmentPort.claim`` checks they were uploaded to that room by the
sender and answers their metadata, which the message then carries (stored, replayed, resent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from careconnect.hub.policy import Principal

MAX_ATTACHMENTS = 5


class AttachmentRef(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    filename: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None


class AttachmentRefused(Exception):
    """A named file may not go with this message; ``code`` is the error frame's (``not_found``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AttachmentPort(Protocol):
    async def claim(self, principal: Principal, room: str, client_id: str, ids: list[str]) -> list[AttachmentRef]:
        """The files ``ids`` (in that order) for the message ``client_id`` that ``principal``
        sends to ``room``; the same answer again for a resend. Raises ``AttachmentRefused``."""
        ...
