"""Where attachments' bytes are kept: one small interface (``BlobStore``), three backends chosen
by ``STORAGE_URL`` (``file://``, ``postgres``, ``s3://``)."""

from __future__ import annotations

from careconnect.storage.base import BlobMissing, BlobStore, file_chunks, read_all
from careconnect.storage.config import StorageConfig, blob_store_for

__all__ = ("BlobMissing", "BlobStore", "StorageConfig", "blob_store_for", "file_chunks", "read_all")
