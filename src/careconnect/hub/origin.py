"""Which pages may open a socket: the handshake's ``Origin`` header, checked before accept.

A browser always sends ``Origin`` on a WebSocket handshake and lets any page open one to any
host, with the user's cookies; the server is the only place a foreign page can be turned
away. Clients that are not browsers (bots, the Python client) send no ``Origin`` and are never
asked about. A refused handshake gets HTTP 403 before the upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class OriginPolicy(Protocol):
    """Decides whether a handshake that carries ``Origin`` may proceed.

    Called once per handshake that has an ``Origin`` header, before accept, with the ASGI
    scope (its headers still intact); never called for a handshake without one. Synchronous
    and cheap: no I/O.
    """

    def allows(self, origin: str, scope: Mapping[str, Any]) -> bool: ...


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case bytes), or None."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return None
