"""One exception hierarchy: every error the client raises is a ``HubError``.

- ``ConnectError``: the hub could not be reached (or kept refusing) within the retries.
- ``AuthError``: the token was refused (close 4401 with a fresh token, 4403 disabled account),
  or the token provider raised ``AuthError`` itself (wrong credentials: stop for good).
- ``ProtocolError``: the server closed with 4400 / 1009, or sent no ``welcome``.
- ``Rejected``: the server answered a frame with an ``error`` frame (``code`` says which).
- ``Closed``: the client is closed, or ended for good; ``code`` is the close code if any.
- ``Timeout``: an ack or a ``joined`` did not come in time (also a ``TimeoutError``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careconnect_client.frames import Error

__all__ = ("AuthError", "Closed", "ConnectError", "HubError", "ProtocolError", "Rejected", "Timeout")


class HubError(Exception):
    """Base of every error this client raises."""


class ConnectError(HubError):
    """Could not open a session with the hub (refused, unreachable, restarting) after retrying."""


class AuthError(HubError):
    """Not authenticated: the token was refused, or the account or integration is disabled."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ProtocolError(HubError):
    """The server and this client disagree on the protocol (close 4400 or 1009, no welcome)."""


class Rejected(HubError):
    """The server answered a frame with an ``error`` frame."""

    def __init__(self, error: Error) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error
        self.code = error.code


class Closed(HubError):
    """The client is closed, or the connection ended for good (``code``: the close code)."""

    def __init__(self, code: int | None = None, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}".strip() if code is not None else (reason or "closed"))
        self.code = code
        self.reason = reason


class Timeout(HubError, TimeoutError):
    """An answer (ack, joined) did not arrive in time; a send may still be stored (resend its id)."""
