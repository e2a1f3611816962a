"""Providers for the attachment routes: ``blobs`` (the app's ``BlobStore``), ``image_decoders``,
``outbox`` and ``settings`` are app-level dependencies (``app.py``)."""

from __future__ import annotations

from careconnect.domain.attachments.images import Decoders
from careconnect.domain.attachments.service import AttachmentsService
from careconnect.domain.notifications.outbox import Outbox
from careconnect.settings import Settings
from careconnect.storage import BlobStore


def provide_attachments(
    blobs: BlobStore, outbox: Outbox, image_decoders: Decoders, settings: Settings
) -> AttachmentsService:
    return AttachmentsService(
        blobs,
        outbox,
        image_decoders,
        max_bytes=settings.attachment_max_bytes,
        max_pixels=settings.attachment_max_pixels,
    )
