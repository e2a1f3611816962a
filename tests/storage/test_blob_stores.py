"""One contract suite for every blob store: the filesystem, the database (SQLite and
PostgreSQL) and S3 (against moto's standalone server)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from careconnect.db import close_engine, engine_from_url, open_engine
from careconnect.storage import BlobMissing, BlobStore, read_all
from careconnect.storage.base import CHUNK_BYTES
from careconnect.storage.config import StorageConfig, blob_store_for, check_storage_url
from careconnect.storage.database import DatabaseBlobStore
from careconnect.storage.files import FileBlobStore
from careconnect.storage.s3 import S3BlobStore
from careconnect.tables.attachments import BlobChunk
from tests.storage.conftest import S3_KEYS, make_bucket


@pytest.fixture(params=["file", "sqlite", "postgres", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "file":
        yield FileBlobStore(tmp_path / "blobs")
        return
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"cc-{uuid.uuid4().hex[:12]}"
        make_bucket(endpoint, bucket)
        yield S3BlobStore(bucket, "attachments", endpoint=endpoint, **S3_KEYS)
        return
    url = request.getfixturevalue(f"{request.param}_url")
    engine = engine_from_url(url)
    before = BlobChunk._meta.db
    BlobChunk._meta.db = engine
    await open_engine(engine)
    try:
        yield DatabaseBlobStore()
    finally:
        await close_engine(engine)
        BlobChunk._meta.db = before


async def chunks_of(data: bytes, size: int = 70_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def key() -> str:
    return f"{uuid.uuid4().hex}/original"


async def test_put_then_read_back_in_chunks(store: BlobStore):
    data = os.urandom(3 * CHUNK_BYTES + 12_345)
    k = key()
    assert not await store.exists(k)
    assert await store.put(k, chunks_of(data)) == len(data)
    assert await store.exists(k)
    pieces = [piece async for piece in store.open(k)]
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) < len(data)  # streamed, not one whole blob


async def test_an_empty_blob_is_a_blob(store: BlobStore):
    k = key()
    assert await store.put(k, chunks_of(b"")) == 0
    assert await store.exists(k)
    assert await read_all(store.open(k)) == b""


async def test_a_second_put_replaces_the_first(store: BlobStore):
    k = key()
    await store.put(k, chunks_of(b"first version, longer" * 1000))
    await store.put(k, chunks_of(b"second"))
    assert await read_all(store.open(k)) == b"second"


async def test_a_stream_that_fails_leaves_nothing(store: BlobStore):
    k = key()

    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(CHUNK_BYTES + 10)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await store.put(k, failing())
    assert not await store.exists(k)
    with pytest.raises(BlobMissing):
        await read_all(store.open(k))


async def test_missing_and_delete_is_idempotent(store: BlobStore):
    k = key()
    with pytest.raises(BlobMissing):
        await read_all(store.open(k))
    await store.delete(k)  # nothing there: not an error
    await store.put(k, chunks_of(b"x" * 10))
    await store.delete(k)
    assert not await store.exists(k)
    await store.delete(k)


async def test_keys_never_leave_the_store(store: BlobStore):
    for bad in ("../etc/passwd", "/abs", "a/../../b", "UPPER", "", "a" * 300, "a\x00b"):
        with pytest.raises(ValueError):
            await store.put(bad, chunks_of(b"x"))
        with pytest.raises(ValueError):
            await store.exists(bad)


async def test_large_blob_keeps_its_digest(store: BlobStore):
    data = os.urandom(11 * 1024 * 1024)  # over S3's multipart threshold
    k = key()
    await store.put(k, chunks_of(data, 1024 * 1024))
    digest = hashlib.sha256()
    async for piece in store.open(k):
        digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_storage_urls(tmp_path: Path):
    assert isinstance(blob_store_for(StorageConfig(url="file://var/attachments"), tmp_path), FileBlobStore)
    assert blob_store_for(StorageConfig(url="file://var/attachments"), tmp_path).root == tmp_path / "var/attachments"  # type: ignore[attr-defined]
    assert blob_store_for(StorageConfig(url=f"file://{tmp_path}/x"), Path("/")).root == tmp_path / "x"  # type: ignore[attr-defined]
    assert isinstance(blob_store_for(StorageConfig(url="postgres"), tmp_path), DatabaseBlobStore)
    s3 = blob_store_for(StorageConfig(url="s3://bucket/pre", s3_endpoint_url="http://127.0.0.1:9"), tmp_path)
    assert isinstance(s3, S3BlobStore)
    for bad in ("ftp://x", "s3://", "postgresql://x", "var/attachments", "file://"):
        with pytest.raises(ValueError, match="STORAGE_URL"):
            check_storage_url(bad)
