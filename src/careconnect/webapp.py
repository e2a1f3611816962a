"""Serves the static Next.js export (web/out) from ``/``, with deep links for dynamic pages."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.response import File

from careconnect.errors import ApiError

WEB_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
# Pages with an id in the path are exported once, for the placeholder id "_"; the page reads
# the real id from location.pathname.
DYNAMIC_PAGES = ("consultation",)


def resolve(web_dir: Path, path: str) -> Path | None:
    """The file for a URL path: exact file, then ``.html``, then ``index.html``, then dynamic pages."""
    clean = path.strip("/")
    if ".." in clean.split("/"):
        return None
    candidates = (
        [web_dir / "index.html"]
        if not clean
        else [
            web_dir / clean,
            web_dir / f"{clean}.html",
            web_dir / clean / "index.html",
        ]
    )
    parts = clean.split("/")
    if len(parts) == 2 and parts[0] in DYNAMIC_PAGES and parts[1]:
        candidates.append(web_dir / parts[0] / "_.html")
    root = web_dir.resolve()
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(root):
            return resolved
    return None


class WebAppController(Controller):
    include_in_schema = False

    @get(["/", "/{path:path}"], sync_to_thread=False)
    def page(self, web_dir: NamedDependency[Path], path: str = "/") -> Response[bytes] | File:
        if path.lstrip("/").startswith(("api/", "ws")):
            raise ApiError(404, "not_found", "No such endpoint.")
        found = resolve(web_dir, path)
        if found is None:
            found = resolve(web_dir, "404")
            if found is None:
                raise ApiError(404, "not_found", "No such page.")
            return Response(
                found.read_bytes(),
                status_code=404,
                media_type="text/html",
                headers={"Content-Security-Policy": WEB_CSP},
            )
        media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        cache = "public, max-age=31536000, immutable" if "/_next/static/" in str(found) else "no-cache"
        return File(
            path=found,
            media_type=media_type,
            content_disposition_type="inline",
            headers={"Content-Security-Policy": WEB_CSP, "Cache-Control": cache},
        )
