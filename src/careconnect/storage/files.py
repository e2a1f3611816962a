"""The local filesystem backend (``STORAGE_URL=file://var/attachments``, the embedded default).

Each blob is one file under the root, written to a temporary name beside it and renamed into
place when complete (a rename is atomic on one filesystem), readable by its owner only.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio

from careconnect.storage.base import CHUNK_BYTES, BlobMissing, check_key


class FileBlobStore:
    """Blobs as files under ``root`` (one host: use ``postgres`` or ``s3`` for several)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._partial = root / ".partial"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        target = self._path(key)
        await anyio.to_thread.run_sync(self._prepare, target.parent)
        partial = self._partial / uuid.uuid4().hex
        size = 0
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            async with await anyio.open_file(descriptor, "wb", closefd=True) as handle:
                async for chunk in chunks:
                    await handle.write(chunk)
                    size += len(chunk)
            await anyio.to_thread.run_sync(os.replace, partial, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return size

    def _prepare(self, folder: Path) -> None:
        self._partial.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await anyio.open_file(path, "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        async with handle:
            while chunk := await handle.read(CHUNK_BYTES):
                yield chunk

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await anyio.to_thread.run_sync(self._path(key).unlink)

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(key).is_file)

    async def close(self) -> None:
        return None
