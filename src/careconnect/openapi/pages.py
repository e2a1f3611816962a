"""The pages under ``/schema``: Swagger UI from this package's files, and the AsyncAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Response, Router, get
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin

if TYPE_CHECKING:
    from litestar.connection import Request

DOCS_PATH = "/schema"
ASSETS = Path(__file__).parent.with_name("docs_assets")
# Swagger UI runs from this origin's files alone; React sets inline style attributes and the
# stylesheet embeds its icons as data: URIs.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class SwaggerPage(OpenAPIRenderPlugin):
    """Swagger UI from this package's files: no CDN, no inline script (see ``DOCS_CSP``)."""

    assets = {
        "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css; charset=utf-8"),
        "swagger-start.js": ("swagger-start.js", "text/javascript; charset=utf-8"),
    }

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"], favicon="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema["info"]["title"]).replace("<", "&lt;")
        spec_url = self.get_openapi_json_route(request)
        base = f"{DOCS_PATH}/assets"
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title><link rel='stylesheet' href='{base}/swagger-ui.css'></head>"
            f"<body><div id='swagger-ui' data-spec-url='{spec_url}'></div>"
            f"<script src='{base}/swagger-ui-bundle.js'></script><script src='{base}/swagger-start.js'></script>"
            "</body></html>"
        ).encode()

    def receive_router(self, router: Router) -> None:
        assets = self.assets

        @get("/assets/{name:str}", sync_to_thread=False, include_in_schema=False)
        def asset(name: str) -> Response[bytes]:
            if name not in assets:
                raise NotFoundException()
            file, media_type = assets[name]
            return Response(
                (ASSETS / file).read_bytes(), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
            )

        router.register(asset)


class AsyncAPIDocument(OpenAPIRenderPlugin):
    """``/schema/asyncapi.json``: the hub protocol, generated from its frame Structs."""

    def __init__(self) -> None:
        super().__init__(path="/asyncapi.json", media_type=MediaType.JSON)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        from careconnect.asyncapi import asyncapi_json

        return asyncapi_json()
