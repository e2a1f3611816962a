"""The attachment DTOs (API.md 1.1 "Attachments")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec


class AttachmentOut(msgspec.Struct, omit_defaults=True, kw_only=True):
    """A stored file: what the upload answers and what the visit's file list shows."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    uploaded_by: str = ""  # the uploader's user id (the workspace's list)
    created_at: str = ""


@dataclass(frozen=True)
class Download:
    """A file on its way out: its bytes as a stream, and how the response names it."""

    filename: str
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]
    inline: bool  # images may show in the page; PDFs are always downloads
