"""The blob store interface: where an attachment's bytes live, whatever the backend.

Guarantees a ``BlobStore`` must give:
- ``put`` stores the whole stream under ``key`` or nothing: a stream that fails halfway leaves
  no blob (and no partial one) behind; a second ``put`` of the same key replaces the first.
- ``open`` streams a stored blob in chunks, never the whole blob at once; it raises
  ``BlobMissing`` (before yielding anything) when ``key`` holds nothing.
- ``delete`` is idempotent: deleting a missing key is not an error.
- Keys are short ASCII paths (``KEY`` below); a store refuses anything else with ``ValueError``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio

CHUNK_BYTES = 256 * 1024
KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}(/[a-z0-9][a-z0-9._-]{0,99}){0,3}$")


class BlobMissing(LookupError):
    """No blob is stored under the key."""


def check_key(key: str) -> str:
    """``key`` when it is a valid blob key, else ``ValueError`` (never a path out of the store)."""
    if not KEY.match(key) or ".." in key:
        raise ValueError(f"{key[:60]!r} is not a blob key (lower-case letters, digits, . _ - and /)")
    return key


@runtime_checkable  # injected as a Litestar dependency, which isinstance-checks it
class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the stream under ``key``, all or nothing; returns the number of bytes stored."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; ``BlobMissing`` when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob if there is one."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...


async def file_chunks(path: Path, size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """A local file's bytes in chunks of ``size``, read off the event loop."""
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(size):
            yield chunk


async def read_all(chunks: AsyncIterator[bytes]) -> bytes:
    """A whole (small) blob: for thumbnails and tests, never for an upload."""
    return b"".join([chunk async for chunk in chunks])
