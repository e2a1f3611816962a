"""``Content-Disposition`` for any filename (RFC 6266 with RFC 5987's ``filename*``)."""

from __future__ import annotations

from urllib.parse import quote

_ASCII_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$&+-.^_`|~()[]{}@,=")


def content_disposition(filename: str, *, inline: bool) -> str:
    """``inline`` / ``attachment`` with an ASCII ``filename`` (anything unsafe as ``_``) and the
    exact name as ``filename*=UTF-8''...`` (percent-encoded, so no quote, CR/LF or ``;`` can end it)."""
    fallback = "".join(ch if ch in _ASCII_SAFE else "_" for ch in filename).strip() or "file"
    encoded = quote(filename, safe="")
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
