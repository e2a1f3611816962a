"""Receiving an upload: the multipart body streamed to a temporary file, counted as it comes.

The body is parsed as it arrives (``multipart.PushMultipartParser``, a sans-IO parser) and the
``file`` field's bytes go straight to disk, so no upload is ever held whole in memory. The limit
is counted while streaming: the first byte over ``max_bytes`` ends the upload with 413.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from careconnect.domain.errors import BadRequest, TooLarge, invalid

FIELD = "file"
_FORM_OVERHEAD = 64 * 1024  # the other fields and the part headers around the file


@dataclass(frozen=True)
class Received:
    path: Path
    filename: str
    size: int


def too_large(max_bytes: int) -> TooLarge:
    return TooLarge(
        f"The file is larger than {max_bytes // (1024 * 1024) or 1} MiB; send a smaller one.",
        code="too_large",
        extra={"max_bytes": max_bytes},
    )


async def receive_file(
    body: AsyncIterator[bytes], content_type: str, folder: Path, *, max_bytes: int, content_length: int | None
) -> Received:
    """Write the ``file`` field of a ``multipart/form-data`` body to a file in ``folder``."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not boundary:
        raise BadRequest("Send the file as multipart/form-data in a field named file.")
    if content_length is not None and content_length > max_bytes + _FORM_OVERHEAD:
        raise too_large(max_bytes)
    target = folder / "upload"
    filename, size, found, total = "", 0, False, 0
    in_file = False
    try:
        async with await anyio.open_file(target, "wb") as out:
            with PushMultipartParser(boundary, max_segment_count=8, max_header_count=8) as parser:
                async for chunk in body:
                    total += len(chunk)
                    if total > max_bytes + _FORM_OVERHEAD:
                        raise too_large(max_bytes)
                    for event in parser.parse(chunk):
                        if isinstance(event, MultipartSegment):
                            in_file = event.name == FIELD and not found
                            if in_file:
                                filename = event.filename or ""
                        elif event is None:
                            if in_file:
                                found = True
                            in_file = False
                        elif in_file:
                            size += len(event)
                            if size > max_bytes:
                                raise too_large(max_bytes)
                            await out.write(event)
                for _ in parser.parse(b""):
                    pass
    except MultipartError:
        raise BadRequest("The multipart body is malformed.") from None
    if not found:
        raise invalid(FIELD, "a multipart field named file is required")
    if size == 0:
        raise invalid(FIELD, "the file is empty")
    return Received(target, clean_filename(filename), size)


def clean_filename(name: str) -> str:
    """A name to show and to send back: its last path part, NFC, no control characters, at most
    120 characters (the extension kept); ``file`` when nothing is left."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:120]
    return name or "file"


def with_extension(name: str, extension: str) -> str:
    """``name`` ending with ``extension`` (``photo.heic`` -> ``photo.jpg``; a PNG named .jpg -> .png)."""
    stem, dot, _ = name.rpartition(".")
    return (stem if dot and stem else name) + extension
