"""The S3 backend (``STORAGE_URL=s3://bucket/prefix``): any S3-compatible object store, through
obstore (a kept client over Rust's object_store). Production uses AWS S3 or MinIO; the tests
run it against moto's standalone server.

A put is one request, or a multipart upload for large blobs that is aborted when the stream
fails, so a failed upload leaves no object behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from careconnect.storage.base import CHUNK_BYTES, BlobMissing, check_key

if TYPE_CHECKING:
    from obstore.store import ClientConfig


class S3BlobStore:
    """Blobs as objects under ``prefix`` in ``bucket``.

    Args:
        endpoint: an S3-compatible server's URL (MinIO, moto); empty for AWS itself.
        access_key_id / secret_access_key: the keys; empty to take them from the environment.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> None:
        config: dict[str, Any] = {"region": region}
        if endpoint:
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = False
        if access_key_id:
            config["access_key_id"] = access_key_id
            config["secret_access_key"] = secret_access_key
        client: ClientConfig | None = {"allow_http": True} if endpoint.startswith("http://") else None
        self.store = S3Store(bucket, prefix=prefix.strip("/") or None, client_options=client, **config)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        check_key(key)
        size = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal size
            async for chunk in chunks:
                size += len(chunk)
                yield chunk

        await obstore.put_async(self.store, key, counted(), chunk_size=8 * 1024 * 1024)
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        check_key(key)
        try:
            result = await obstore.get_async(self.store, key)
        except (NotFoundError, FileNotFoundError):
            raise BlobMissing(key) from None
        async for chunk in result.stream(min_chunk_size=CHUNK_BYTES):
            yield bytes(chunk)

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self.store, check_key(key))
        except (NotFoundError, FileNotFoundError):
            return

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, check_key(key))
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    async def close(self) -> None:
        return None
