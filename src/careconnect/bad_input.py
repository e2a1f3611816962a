"""Refusals at the edge that no schema can express: a NUL in the URL path, JSON nested too deeply.

Both reached the handlers as 500s: a path's NUL went into a file name ("embedded null byte") or
a database write (an audit entry's resource id), and msgspec's decoder raises ``RecursionError``
for deeply nested JSON. Each is now a 400 ``bad_request`` problem, before any handler runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.exceptions import ClientException

from careconnect.errors import ApiError

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

TOO_DEEP = "The body is nested too deeply."


class RefuseNulPath:
    """A request whose (decoded) path holds a NUL gets 400: no resource's name holds one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "\x00" in scope.get("path", ""):
            raise ApiError(400, "bad_request", "The URL path holds a NUL character.")
        await self.app(scope, receive, send)


class CareConnectRequest(Request[Any, Any, Any]):
    """Litestar's request, with a body nested too deeply for the decoder refused with 400."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException(TOO_DEEP) from None

    async def msgpack(self) -> Any:
        try:
            return await super().msgpack()
        except RecursionError:
            raise ClientException(TOO_DEEP) from None
