"""The app's ``OpenAPIConfig`` and the plugin that describes every route it registers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Router
from litestar.datastructures import ResponseHeader
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import HTTPRoute

from careconnect import __version__
from careconnect.openapi.describe import describe, operation_id
from careconnect.openapi.pages import DOCS_CSP, DOCS_PATH, AsyncAPIDocument, SwaggerPage

if TYPE_CHECKING:
    from litestar.routes import BaseRoute


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="CareConnect Live API",
        version=__version__,
        description=(
            "The REST API of CareConnect Live (API.md). Every error is application/problem+json with a "
            "stable `code` and the `request_id`. The hub's WebSocket protocol is described by the "
            f"AsyncAPI document at {DOCS_PATH}/asyncapi.json."
        ),
        path=DOCS_PATH,
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="The access token of /auth/login or /auth/token.",
                ),
                "RefreshCookie": SecurityScheme(
                    type="apiKey",
                    name="cc_refresh",
                    security_scheme_in="cookie",
                    description="The refresh cookie /auth/login sets (sent to /api/v1/auth only).",
                ),
            }
        ),
        operation_id_creator=operation_id,
        render_plugins=[SwaggerPage(), JsonRenderPlugin(), YamlRenderPlugin(), AsyncAPIDocument()],
        openapi_router=Router(
            DOCS_PATH,
            route_handlers=[],
            include_in_schema=False,
            response_headers=[ResponseHeader(name="Content-Security-Policy", value=DOCS_CSP)],
        ),
    )


class ApiDocs(ReceiveRoutePlugin):
    """Describes every route the app registers (``describe``); ``openapi_config()`` is its pair."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        seen: set[int] = set()
        for handler, _ in route.route_handler_map.values():
            if id(handler) in seen or not isinstance(handler, HTTPRouteHandler):
                continue
            seen.add(id(handler))
            if handler.resolve_include_in_schema():
                describe(handler, route)
