"""``STORAGE_URL`` to a ``BlobStore``: ``file://<folder>``, ``postgres`` or ``s3://bucket/prefix``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import msgspec

from careconnect.storage.base import BlobStore


class StorageConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""


def check_storage_url(url: str) -> str:
    """``url`` when it names a backend, else ``ValueError`` saying what would."""
    parsed = urlparse(url)
    if url == "postgres" or (parsed.scheme == "file" and (parsed.netloc or parsed.path)):
        return url
    if parsed.scheme == "s3" and parsed.netloc:
        return url
    raise ValueError(
        f"STORAGE_URL {url!r} is not file://<folder>, postgres or s3://<bucket>/<prefix> "
        "(for example file://var/attachments)"
    )


def blob_store_for(config: StorageConfig, base: Path) -> BlobStore:
    """The store ``config.url`` names; a relative ``file://`` folder is relative to ``base``."""
    from careconnect.storage.database import DatabaseBlobStore
    from careconnect.storage.files import FileBlobStore

    url = check_storage_url(config.url)
    if url == "postgres":
        return DatabaseBlobStore()
    parsed = urlparse(url)
    if parsed.scheme == "file":
        folder = Path(parsed.netloc + parsed.path)
        return FileBlobStore(folder if folder.is_absolute() else base / folder)
    from careconnect.storage.s3 import S3BlobStore

    return S3BlobStore(
        parsed.netloc,
        parsed.path.strip("/"),
        endpoint=config.s3_endpoint_url,
        region=config.s3_region,
        access_key_id=config.s3_access_key_id,
        secret_access_key=config.s3_secret_access_key,
    )
