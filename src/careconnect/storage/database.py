"""The database backend (``STORAGE_URL=postgres``): blobs as numbered chunks in ``cc_blob_chunk``.

Every host that shares the database shares the files, with no extra service. A blob is written
in one transaction (all its chunks or none) and read back one chunk per query, so neither side
holds a whole file in memory. The same table works on SQLite (for tests and one-host setups).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from careconnect.storage.base import CHUNK_BYTES, BlobMissing, check_key
from careconnect.tables.attachments import BlobChunk


class DatabaseBlobStore:
    """Blobs in the application's database, in chunks of at most ``CHUNK_BYTES``."""

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        check_key(key)
        size, n = 0, 0
        async with BlobChunk._meta.db.transaction():
            await BlobChunk.delete().where(BlobChunk.key == key)
            async for chunk in _rechunked(chunks):
                await BlobChunk.insert(BlobChunk(key=key, n=n, data=chunk))
                size += len(chunk)
                n += 1
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        check_key(key)
        if not await self.exists(key):
            raise BlobMissing(key)
        n = 0
        while True:
            row = await BlobChunk.select(BlobChunk.data).where((BlobChunk.key == key) & (BlobChunk.n == n)).first()
            if row is None:
                return
            yield bytes(row["data"])
            n += 1

    async def delete(self, key: str) -> None:
        await BlobChunk.delete().where(BlobChunk.key == check_key(key))

    async def exists(self, key: str) -> bool:
        return bool(await BlobChunk.exists().where((BlobChunk.key == check_key(key)) & (BlobChunk.n == 0)))

    async def close(self) -> None:
        return None


async def _rechunked(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The stream in pieces of ``CHUNK_BYTES`` (the last may be shorter; an empty blob is one empty chunk)."""
    buffer = bytearray()
    sent = False
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
            sent = True
    if buffer or not sent:
        yield bytes(buffer)
