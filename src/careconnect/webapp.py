"""Serves the static Next.js export (web/out) from ``/``, with deep links for dynamic pages."""

from __future__ import annotations

import base64
import functools
import hashlib
import mimetypes
import re
from pathlib import Path
from typing import Any

from litestar import Controller, HttpMethod, Request, route
from litestar.di import NamedDependency
from litestar.response import File

from careconnect.errors import ApiError

# The page policy. Scripts: our own files plus, per HTML page, the SHA-256 of each inline
# bootstrap script that Next.js writes into the export (never 'unsafe-inline'). Connections:
# 'self' only, which CSP3 browsers also match for ws:/wss: to the same host and port (the hub).
# Styles keep 'unsafe-inline': React and Next set style attributes (e.g. the route announcer).
_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
WEB_CSP = _CSP.format(hashes="")
_INLINE_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_SRC_ATTRIBUTE = re.compile(rb"\ssrc\s*=", re.I)


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP source expressions ('sha256-…') for every inline script of an HTML page, in order."""
    found: dict[str, None] = {}
    for match in _INLINE_SCRIPT.finditer(html):
        if _SRC_ATTRIBUTE.search(b" " + match.group(1)):
            continue
        digest = base64.b64encode(hashlib.sha256(match.group(2)).digest()).decode()
        found[f"'sha256-{digest}'"] = None
    return list(found)


def page_csp(path: Path) -> str:
    """The policy for an HTML page: it names that page's own inline scripts' hashes."""
    hashes = inline_script_hashes(path.read_bytes())
    return _CSP.format(hashes="".join(" " + h for h in hashes))


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
        if parts[1].endswith(".txt"):  # the router's payload for /consultation/<id>
            candidates.append(web_dir / parts[0] / "_.txt")
    elif len(parts) == 3 and parts[0] in DYNAMIC_PAGES and parts[1] and parts[2].startswith("__next."):
        # What the router prefetches for a link to /consultation/<id> (its segment payloads).
        candidates.append(web_dir / parts[0] / "_" / parts[2])
    root = web_dir.resolve()
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(root):
            return resolved
    return None


class WebPages:
    """The export in ``web_dir``: which file a URL path serves, and the policy each file goes out with.

    An HTML page's policy is worked out once per version of the file (its path, mtime and size)
    and kept for the ``cache_size`` most recent ones: hashing every inline script on each
    request would cost more than serving the page.
    """

    def __init__(self, web_dir: Path, cache_size: int = 256) -> None:
        self.web_dir = web_dir
        self._page_csp = functools.lru_cache(maxsize=cache_size)(self._csp_of_version)

    def resolve(self, path: str) -> Path | None:
        return resolve(self.web_dir, path)

    def csp_for(self, path: Path) -> str:
        """The policy for a served file: an HTML page's names its own inline scripts' hashes."""
        if path.suffix != ".html":
            return WEB_CSP
        stat = path.stat()
        return self._page_csp(path, stat.st_mtime_ns, stat.st_size)

    @staticmethod
    def _csp_of_version(path: Path, mtime_ns: int, size: int) -> str:
        return page_csp(path)


# Precompressed copies the build writes beside a file (web/scripts/precompress.mjs), best first.
_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
_Q_VALUE = re.compile(r"^q\s*=\s*(.*)$")


def accepted_encodings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header allows (q=0 refuses one; "*" allows the rest)."""
    allowed: set[str] = set()
    refused: set[str] = set()
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            match = _Q_VALUE.match(param.strip())
            if match:
                try:
                    quality = float(match.group(1))
                except ValueError:
                    quality = 0.0  # unreadable: not a coding the client asked for
                if not 0.0 <= quality <= 1.0:
                    quality = 0.0
        (allowed if quality > 0 else refused).add(name)
    if "*" in allowed:
        allowed |= {coding for coding, _ in _ENCODINGS} - refused
    return allowed - refused


def precompressed(found: Path, accept_encoding: str) -> tuple[Path, str | None]:
    """The file to send for ``found``: its .br or .gz copy when the client takes it and it is current."""
    allowed = accepted_encodings(accept_encoding)
    for coding, suffix in _ENCODINGS:
        if coding not in allowed:
            continue
        copy = found.with_name(found.name + suffix)
        try:
            if copy.is_file() and copy.stat().st_mtime_ns >= found.stat().st_mtime_ns:
                return copy, coding
        except OSError:
            continue
    return found, None


class WebAppController(Controller):
    include_in_schema = False

    @route(["/", "/{path:path}"], http_method=[HttpMethod.GET, HttpMethod.HEAD], sync_to_thread=False)
    def page(self, request: Request[Any, Any, Any], web_pages: NamedDependency[WebPages], path: str = "/") -> File:
        if path.lstrip("/").startswith(("api/", "ws")):
            raise ApiError(404, "not_found", "No such endpoint.")
        status = 200
        found = web_pages.resolve(path)
        if found is None:
            found = web_pages.resolve("404")
            if found is None:
                raise ApiError(404, "not_found", "No such page.")
            status = 404
        media_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        cache = "public, max-age=31536000, immutable" if "/_next/static/" in str(found) else "no-cache"
        body, coding = precompressed(found, request.headers.get("accept-encoding", ""))
        headers = {
            "Content-Security-Policy": web_pages.csp_for(found),
            "Cache-Control": cache,
            "Vary": "Accept-Encoding",
        }
        if coding:
            headers["Content-Encoding"] = coding
        return File(
            path=body,
            filename=found.name,
            media_type=media_type,
            content_disposition_type="inline",
            status_code=status,
            headers=headers,
        )
