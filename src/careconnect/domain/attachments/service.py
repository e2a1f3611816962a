"""Files in a consultation: upload (members, while the room is writable), download and thumbnail
(members of its room, else 404), and the visit's list of files. Every upload and download leaves
an audit entry with its outcome.

An upload is streamed to a private temporary folder, recognised by its bytes, re-encoded
(``images``), stored in the ``BlobStore``, and only then written as a row (with its sweep job,
in one transaction); a failure at any step leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio

from careconnect.domain.attachments import images
from careconnect.domain.attachments.receiving import receive_file, with_extension
from careconnect.domain.attachments.schemas import AttachmentOut, Download
from careconnect.domain.attachments.sweep import schedule_sweep
from careconnect.domain.audit.service import patient_of_appointment, record
from careconnect.domain.consultations.rooms import WRITABLE_STATES, Membership, membership
from careconnect.domain.errors import Conflict, DomainError, NotFound
from careconnect.domain.notifications.outbox import Outbox
from careconnect.ids import uuid7
from careconnect.principal import Principal
from careconnect.storage import BlobMissing, BlobStore, file_chunks, read_all
from careconnect.tables.attachments import Attachment

_COLUMNS = (
    Attachment.id,
    Attachment.appointment,
    Attachment.uploader,
    Attachment.filename,
    Attachment.content_type,
    Attachment.size,
    Attachment.sha256,
    Attachment.width,
    Attachment.height,
    Attachment.created_at,
)


class AttachmentsService:
    """Args:
    blobs: where the bytes go (``STORAGE_URL``).
    outbox: where each upload's sweep job is written.
    decoders: the app's one image-decoding queue (a bound on the memory decoding takes).
    max_bytes / max_pixels: ``ATTACHMENT_MAX_BYTES`` and ``ATTACHMENT_MAX_PIXELS``.
    """

    def __init__(
        self, blobs: BlobStore, outbox: Outbox, decoders: images.Decoders, *, max_bytes: int, max_pixels: int
    ) -> None:
        self.blobs = blobs
        self.decoders = decoders
        self.outbox = outbox
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    async def upload(
        self,
        actor: Principal,
        scope: Mapping[str, Any],
        consultation_id: str,
        *,
        content_type: str,
        content_length: int | None,
        body: AsyncIterator[bytes],
    ) -> AttachmentOut:
        member = await self._member(actor, scope, consultation_id, "attachments.write")
        if member.status not in WRITABLE_STATES:
            await self._audit(actor, scope, member, "attachments.write", member.appointment_id, "room_closed")
            raise Conflict(f"The consultation is {member.status}: files can no longer be added.", code="room_closed")
        folder = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="cc-upload-")))
        try:
            try:
                stored = await self._store(actor, member, folder, content_type, content_length, body)
            except DomainError as exc:
                await self._audit(actor, scope, member, "attachments.write", member.appointment_id, exc.code)
                raise
        finally:
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))
        await self._audit(actor, scope, member, "attachments.write", stored.id, "success")
        return stored

    async def _store(
        self,
        actor: Principal,
        member: Membership,
        folder: Path,
        content_type: str,
        content_length: int | None,
        body: AsyncIterator[bytes],
    ) -> AttachmentOut:
        received = await receive_file(
            body, content_type, folder, max_bytes=self.max_bytes, content_length=content_length
        )
        head = await anyio.to_thread.run_sync(_head, received.path)
        kind = images.sniff(head)
        done = await self.decoders.process(received.path, kind, folder, self.max_pixels)
        digest, size = await anyio.to_thread.run_sync(_digest, done.path)
        now = dt.datetime.now(dt.UTC)
        attachment_id = str(uuid7(now))
        original_key = f"attachments/{attachment_id}/original"
        thumbnail_key = f"attachments/{attachment_id}/thumbnail" if done.thumbnail else ""
        filename = with_extension(received.filename, kind.extension)
        try:
            await self.blobs.put(original_key, file_chunks(done.path))
            if done.thumbnail:
                await self.blobs.put(thumbnail_key, file_chunks(done.thumbnail))
            async with Attachment._meta.db.transaction():
                await Attachment.insert(
                    Attachment(
                        id=attachment_id,
                        appointment=member.appointment_id,
                        uploader=actor.id,
                        filename=filename,
                        content_type=kind.content_type,
                        size=size,
                        sha256=digest,
                        width=done.width,
                        height=done.height,
                        storage_key=original_key,
                        thumbnail_key=thumbnail_key,
                        created_at=now,
                    )
                )
                await schedule_sweep(self.outbox, attachment_id, now)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.blobs.delete(original_key)
                if thumbnail_key:
                    await self.blobs.delete(thumbnail_key)
            raise
        return AttachmentOut(
            id=attachment_id,
            filename=filename,
            content_type=kind.content_type,
            size=size,
            sha256=digest,
            width=done.width,
            height=done.height,
            uploaded_by=actor.id,
            created_at=_iso(now),
        )

    async def download(
        self, actor: Principal, scope: Mapping[str, Any], attachment_id: str, *, thumbnail: bool = False
    ) -> Download:
        """The file (or its thumbnail) for a member of its consultation; 404 for anyone else."""
        action = "attachments.read_thumbnail" if thumbnail else "attachments.read"
        row = await _row(attachment_id)
        found = None if row is None else await membership(actor, str(row["appointment"]))
        if row is None or found is None:
            await record(
                actor=actor,
                action=action,
                resource_type="attachment",
                resource_id=attachment_id[:200],
                outcome="not_found",
                patient_id=await patient_of_appointment(str(row["appointment"])) if row else None,
                scope=scope,
            )
            raise NotFound("No such file.")
        key = row["thumbnail_key"] if thumbnail else row["storage_key"]
        try:
            if not key:
                raise BlobMissing(attachment_id)
            if thumbnail:  # small: read now, so a missing blob is a 404 before any header goes out
                data = await read_all(self.blobs.open(key))
                chunks, size = _single(data), len(data)
            else:
                chunks, size = await _primed(self.blobs.open(key)), int(row["size"])
        except BlobMissing:
            await self._audit(actor, scope, found, action, attachment_id, "not_found")
            raise NotFound("This file has no thumbnail." if thumbnail else "No such file.") from None
        await self._audit(actor, scope, found, action, attachment_id, "success")
        content_type = "image/jpeg" if thumbnail else str(row["content_type"])
        return Download(
            filename=str(row["filename"]),
            content_type=content_type,
            size=size,
            chunks=chunks,
            inline=content_type.startswith("image/"),
        )

    async def for_consultation(
        self, actor: Principal, scope: Mapping[str, Any], consultation_id: str
    ) -> list[AttachmentOut]:
        """The visit's files, oldest first: those sent in its messages, and the caller's own uploads."""
        member = await self._member(actor, scope, consultation_id, "attachments.list")
        rows = (
            await Attachment.select(*_COLUMNS)
            .where(
                (Attachment.appointment == member.appointment_id)
                & (Attachment.sent_at.is_not_null() | (Attachment.uploader == actor.id))
            )
            .order_by(Attachment.created_at)
        )
        await self._audit(actor, scope, member, "attachments.list", member.appointment_id, "success")
        return [attachment_out(row) for row in rows]

    async def _member(
        self, actor: Principal, scope: Mapping[str, Any], consultation_id: str, action: str
    ) -> Membership:
        found = await membership(actor, consultation_id)
        if found is None:
            await record(
                actor=actor,
                action=action,
                resource_type="consultation",
                resource_id=consultation_id[:200],
                outcome="not_found",
                patient_id=await patient_of_appointment(consultation_id),
                scope=scope,
            )
            raise NotFound("No such consultation.")
        return found

    async def _audit(
        self,
        actor: Principal,
        scope: Mapping[str, Any],
        member: Membership,
        action: str,
        resource_id: str,
        outcome: str,
    ) -> None:
        await record(
            actor=actor,
            action=action,
            resource_type="attachment",
            resource_id=resource_id,
            outcome=outcome[:16],  # the column's width
            patient_id=member.patient_id,
            scope=scope,
        )


def attachment_out(row: Mapping[str, Any]) -> AttachmentOut:
    return AttachmentOut(
        id=str(row["id"]),
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        width=row["width"],
        height=row["height"],
        uploaded_by=str(row["uploader"]),
        created_at=_iso(row["created_at"]),
    )


async def _row(attachment_id: str) -> dict[str, Any] | None:
    try:
        canonical = str(uuid.UUID(attachment_id))
    except ValueError:
        return None
    row: dict[str, Any] | None = (
        await Attachment.select(*_COLUMNS, Attachment.storage_key, Attachment.thumbnail_key)
        .where(Attachment.id == canonical)
        .first()
    )
    return row


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(32)


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _primed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` with its first chunk read now (a missing blob raises here, not mid-response)."""
    first = await anext(chunks, b"")

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
