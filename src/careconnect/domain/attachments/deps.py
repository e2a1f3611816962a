"""Providers for the attachment routes: ``blobs`` (the app's ``BlobStore``), ``outbox`` and
``settings`` are app-level dependencies (``app.py``)."""

from __future__ import annotations

from careconnect.domain.attachments.service import AttachmentsService
from careconnect.domain.notifications.outbox import Outbox
from careconnect.settings import Settings
from careconnect.storage import BlobStore


def provide_attachments(blobs: BlobStore, outbox: Outbox, settings: Settings) -> AttachmentsService:
    return AttachmentsService(
        blobs, outbox, max_bytes=settings.attachment_max_bytes, max_pixels=settings.attachment_max_pixels
    )
