"""What the application supplies: who a token belongs to, and who may join and write a room."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

from careconnect.hub.protocol import UserRef


class Principal(msgspec.Struct, frozen=True):
    id: str
    role: str
    name: str
    session_id: str
    expires_at: float = 0.0
    address: str = ""  # the client's address (``Hub.client_address``), for the application's audit

    def ref(self) -> UserRef:
        return UserRef(id=self.id, role=self.role, name=self.name)


class AuthFailed(Exception):
    """The token is bad, expired or revoked (close 4401), or the account disabled (4403)."""

    def __init__(self, message: str, close_code: int = 4401) -> None:
        super().__init__(message)
        self.close_code = close_code


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> Principal:
        """The principal of an access token; raises ``AuthFailed``."""
        ...

    async def check(self, principal: Principal) -> None:
        """Re-validate a connected principal (revoked session, disabled account); raises ``AuthFailed``."""
        ...


class RoomDenied(Exception):
    """Joining or writing is refused; ``code`` is the error frame's code (forbidden, room_closed...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RoomInfo(msgspec.Struct):
    state: str | None
    members: list[UserRef]


class RoomPolicy(Protocol):
    async def join(self, principal: Principal, room: str) -> RoomInfo:
        """May ``principal`` join ``room``? Returns the room's state and members; raises ``RoomDenied``."""
        ...

    async def check_write(self, principal: Principal, room: str) -> None:
        """May ``principal`` send to ``room`` now? Raises ``RoomDenied`` (forbidden, room_closed)."""
        ...

    def forget(self, room: str) -> None:
        """Drop anything cached about ``room`` (its state changed)."""
        ...


@runtime_checkable
class RoomNames(Protocol):
    """An optional ability of a ``RoomPolicy``: each room has one spelling.

    A name the policy would never give out (another spelling of a room's id, or no room at all)
    is answered ``not_found`` on ``send``, ``typing``, ``read`` and ``leave`` as on ``join``, never
    ``forbidden``: it is no room, not someone else's.
    """

    def is_room_name(self, room: str) -> bool:
        """Is ``room`` spelled as the policy names rooms?"""
        ...


@runtime_checkable
class SignalPolicy(Protocol):
    """An optional ability of a ``RoomPolicy``: video call signalling (PROTOCOL.md 1.1).

    Without it a member may signal whenever ``check_write`` lets them send, and calls go
    unrecorded beyond their ``kind: "call"`` messages.
    """

    async def check_signal(self, principal: Principal, room: str) -> None:
        """May ``principal`` signal a call in ``room`` now? Raises ``RoomDenied`` (forbidden, room_closed)."""
        ...

    async def call_started(self, principal: Principal, room: str, caller_id: str, callee_id: str) -> None:
        """``callee_id`` (``principal``) accepted ``caller_id``'s call: for the application's audit."""
        ...

    async def call_ended(self, principal: Principal, room: str, caller_id: str, callee_id: str, seconds: float) -> None:
        """``principal`` hung up a call that lasted ``seconds``: for the application's audit."""
        ...
