"""Who is asking from where: the trusted client ip, the request id, response headers, the access log.

``ClientContextMiddleware`` settles, once per HTTP request or socket, the client's ip and the
request id and keeps them in the scope's state, so the audit log, the throttles, the logs and
the sessions all read the same values (``client_ip``, ``request_id_of``):

- The client ip is the socket peer, unless that peer is one of ``TRUSTED_PROXIES``: then it is
  the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy (every
  address left of it was written by the client and proves nothing).
- The request id stored in audit entries and logs is the client's ``X-Request-ID`` only when the
  request came through a trusted proxy; anyone else gets a server-made id, and their own
  well-formed id is kept beside it (``client_request_id``, in the log line) and echoed in the
  response's ``X-Request-ID`` as API.md promises.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType

from careconnect.logs import escape_controls, redact_query

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("careconnect.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The ``TRUSTED_PROXIES`` setting: addresses and networks whose forwarding headers count."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.networks: tuple[_Network, ...] = tuple(ipaddress.ip_network(e, strict=False) for e in entries)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_ip(self, peer: str, forwarded_for: list[str]) -> str:
        """The right-most untrusted address of ``peer``'s X-Forwarded-For chain, else ``peer``."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer  # a malformed chain: nothing in it can be believed
            if not self.trusts(hop):
                return hop
        return peer


def _header_values(scope: Mapping[str, Any], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


def _state(scope: Mapping[str, Any]) -> dict[str, Any]:
    """The scope's ``state`` dict, made here when the server gave none.

    An ASGI scope is a plain dict, and Litestar types it as a TypedDict (read-only as a
    ``Mapping``); its ``state`` is the one entry this module writes to.
    """
    state = scope.get("state")
    if state is None:
        state = cast("dict[str, Any]", scope).setdefault("state", {})
    return cast("dict[str, Any]", state)


def settle(scope: Mapping[str, Any], trusted: TrustedProxies) -> dict[str, Any]:
    """Work out the client ip and the request ids once for ``scope``; later calls return the same."""
    state = _state(scope)
    if "client_ip" in state:
        return state
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    from_proxy = trusted.trusts(peer)
    state["client_ip"] = trusted.client_ip(peer, _header_values(scope, b"x-forwarded-for")) if from_proxy else peer
    incoming = next(iter(_header_values(scope, b"x-request-id")), "")
    given = incoming if _VALID_ID.match(incoming) else ""
    state["client_request_id"] = given
    state.setdefault("request_id", given if (given and from_proxy) else uuid.uuid4().hex)
    return state


def client_ip(scope: Mapping[str, Any]) -> str:
    """The client's ip as ``settle`` found it (the socket peer when nothing settled it)."""
    state = scope.get("state") or {}
    if "client_ip" in state:
        return str(state["client_ip"])
    client = scope.get("client")
    return str(client[0]) if client else ""


def request_id_of(scope: Mapping[str, Any]) -> str:
    """The id that audit entries and logs carry: the server's own unless a trusted proxy gave one."""
    state = _state(scope)
    request_id = state.get("request_id")
    if request_id is None:
        request_id = state["request_id"] = uuid.uuid4().hex
    return str(request_id)


def client_request_id_of(scope: Mapping[str, Any]) -> str:
    """The client's own well-formed X-Request-ID, or "" when it sent none."""
    state = _state(scope)
    if "client_request_id" not in state:  # not settled (a path no route matched): read it now
        incoming = next(iter(_header_values(scope, b"x-request-id")), "")
        state["client_request_id"] = incoming if _VALID_ID.match(incoming) else ""
    return str(state["client_request_id"])


def response_request_id(scope: Mapping[str, Any]) -> str:
    """What the response's X-Request-ID (and a problem's ``request_id``) says: the client's id when
    it gave one, else the server's (API.md: "taken from the request when given, else generated")."""
    return client_request_id_of(scope) or request_id_of(scope)


def set_user_id(scope: Mapping[str, Any], user_id: str) -> None:
    _state(scope)["user_id"] = user_id


class ClientContextMiddleware:
    """Settles the client ip and request id of every HTTP request and socket (``settle``)."""

    def __init__(self, app: ASGIApp, trusted: TrustedProxies | None = None) -> None:
        self.app = app
        self.trusted = trusted or TrustedProxies()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in (ScopeType.HTTP, ScopeType.WEBSOCKET):
            settle(scope, self.trusted)
        await self.app(scope, receive, send)


def response_headers_hook(security_headers: dict[str, str]) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook adding X-Request-ID and the security headers to every response.

    Every ``/api/v1`` response also gets ``Cache-Control: no-store`` unless its handler chose a
    Cache-Control itself: the API's answers are personal (appointments, intake, notes, summaries,
    messages, history, audit, the account), and one rule for all of them cannot miss a route.
    """

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders.from_message(message)
            headers["X-Request-ID"] = response_request_id(scope)
            for name, value in security_headers.items():
                if name not in headers:
                    headers[name] = value
            if scope.get("path", "").startswith("/api/") and "cache-control" not in headers:
                headers["Cache-Control"] = "no-store"

    return before_send


class AccessLogMiddleware:
    """One log line per request: method, path, query (secrets redacted), status, duration, ids.

    Everything that came from the client is escaped (``escape_controls``): a ``%0a`` in a path
    is decoded to a newline in ``scope["path"]`` and would otherwise start a forged line.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
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
            state: dict[str, Any] = dict(scope.get("state") or {})
            method = escape_controls(str(scope.get("method", "")))
            path = escape_controls(scope["path"])
            query = escape_controls(redact_query(scope.get("query_string", b"").decode("latin-1")))
            user_agent = escape_controls(next(iter(_header_values(scope, b"user-agent")), "")[:300])
            given = client_request_id_of(scope)
            access_log.info(
                "%s %s%s %s %.1fms request_id=%s%s",
                method,
                path,
                f"?{query}" if query else "",
                status,
                duration_ms,
                request_id_of(scope),
                f" client_request_id={given}" if given and given != request_id_of(scope) else "",
                extra={
                    "request_id": request_id_of(scope),
                    "client_request_id": given,
                    "user_id": state.get("user_id", ""),
                    "client_ip": client_ip(scope),
                    "method": method,
                    "path": path,
                    "query": query,
                    "user_agent": user_agent,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
