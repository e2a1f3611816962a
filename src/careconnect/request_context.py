"""The request id (taken from X-Request-ID or generated), response headers and the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from litestar.datastructures import MutableScopeHeaders

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("careconnect.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_of(scope: Any) -> str:
    """The request's id: the client's X-Request-ID when well-formed, else a new one, kept in scope."""
    state = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if request_id is None:
        incoming = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        state["request_id"] = request_id
    return str(request_id)


def set_user_id(scope: Any, user_id: str) -> None:
    scope.setdefault("state", {})["user_id"] = user_id


def response_headers_hook(security_headers: dict[str, str]) -> Any:
    """A ``before_send`` hook adding X-Request-ID and the security headers to every response."""

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders.from_message(message)
            headers["X-Request-ID"] = request_id_of(scope)
            for name, value in security_headers.items():
                if name not in headers:
                    headers[name] = value

    return before_send


class AccessLogMiddleware:
    """One log line per request: method, path, status, duration, request id and user id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            state: dict[str, Any] = scope.get("state", {})  # type: ignore[assignment]
            access_log.info(
                "%s %s %s %.1fms",
                scope.get("method", ""),
                scope["path"],
                status,
                duration_ms,
                extra={
                    "request_id": request_id_of(scope),
                    "user_id": state.get("user_id", ""),
                    "method": scope.get("method", ""),
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
