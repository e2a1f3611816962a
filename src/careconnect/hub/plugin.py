"""The Litestar wiring: mounts ``GET /ws``, runs the hub with the application, and a fast path.

``HubPlugin`` is enough on its own. ``HubFastPath`` in front of the application is the
production setup: Litestar wraps every ``send`` of a socket in its middleware (exception
capture, metrics, ``before_send`` hooks), a few coroutine layers per frame per member that the
hub does not need (it handles its own errors and counts its own metrics). In front, the hub's
sockets skip them; everything else (HTTP, lifespan, other paths) goes to the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.handlers import asgi
from litestar.plugins import InitPluginProtocol

from careconnect.hub.session import Session

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.types import ASGIApp, Receive, Scope, Send

    from careconnect.hub.hub import Hub


class HubPlugin(InitPluginProtocol):
    """Serves the hub at ``path`` and starts / stops it with the app (sockets get 1012 on stop)."""

    def __init__(self, hub: Hub, path: str = "/ws") -> None:
        self.hub = hub
        self.path = path

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        hub = self.hub

        @asgi(self.path, is_mount=False, copy_scope=False, include_in_schema=False)
        async def hub_socket(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.WEBSOCKET:
                from litestar.response import Response

                response: Any = Response(
                    {"code": "bad_request", "detail": "GET /ws is a WebSocket endpoint"},
                    status_code=426,
                    media_type="application/problem+json",
                )
                await response.to_asgi_response(app=None, request=None)(scope, receive, send)
                return
            await Session(hub, receive, send, scope).run()

        app_config.route_handlers.append(hub_socket)
        app_config.on_startup.append(hub.start)
        app_config.on_shutdown.append(hub.stop)
        return app_config


class HubFastPath:
    """ASGI in front of ``app``: WebSocket connections to ``path`` go straight to the hub."""

    def __init__(self, app: ASGIApp, hub: Hub, path: str = "/ws") -> None:
        self.app = app
        self.hub = hub
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET and scope["path"] == self.path:
            await Session(self.hub, receive, send, scope).run()
            return
        await self.app(scope, receive, send)
