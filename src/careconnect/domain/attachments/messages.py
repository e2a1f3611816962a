"""Files in messages (PROTOCOL.md 1.1): the hub's ``AttachmentPort`` on the attachment table, and
a ``MessageStore`` around the chat store that gives every message read back its files.

A ``send`` naming files claims them for its message (room, sender, client id): only files the
sender uploaded to that consultation, not already claimed by another message; a resend claims
the same files again and gets the same answer. The claim marks the file sent (the sweep keeps
it) and links it to the message's idempotency key, so replay, the REST history and resends find
the files by the message they belong to, with one query per page of messages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from careconnect.domain.consultations.rooms import appointment_id_of
from careconnect.hub.attachments import AttachmentRef, AttachmentRefused
from careconnect.hub.policy import Principal
from careconnect.hub.store import Appended, MessageStore, NewMessage, StoredMessage
from careconnect.tables.attachments import Attachment

_REF_COLUMNS = (
    Attachment.id,
    Attachment.filename,
    Attachment.content_type,
    Attachment.size,
    Attachment.width,
    Attachment.height,
)


def _ref(row: dict[str, Any]) -> AttachmentRef:
    return AttachmentRef(
        id=str(row["id"]),
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        width=row["width"],
        height=row["height"],
    )


class AttachmentClaims:
    """The hub's ``AttachmentPort``: files a sender uploaded to the room, claimed for one message."""

    async def claim(self, principal: Principal, room: str, client_id: str, ids: list[str]) -> list[AttachmentRef]:
        appointment_id = appointment_id_of(room)
        try:
            wanted = [str(uuid.UUID(i)) for i in ids]
        except ValueError:
            raise AttachmentRefused("not_found", "no such file in this room") from None
        if appointment_id is None:
            raise AttachmentRefused("not_found", "no such file in this room")
        mine = (
            (Attachment.id.is_in(wanted))
            & (Attachment.appointment == appointment_id)
            & (Attachment.uploader == principal.id)
        )
        free = Attachment.message_client_id.is_null() | (
            (Attachment.message_room == room)
            & (Attachment.message_sender == principal.id)
            & (Attachment.message_client_id == client_id)
        )
        rows = await Attachment.select(*_REF_COLUMNS, Attachment.message_client_id).where(mine)
        by_id = {str(r["id"]): r for r in rows}
        if len(by_id) != len(wanted):
            raise AttachmentRefused("not_found", "no such file in this room (upload it to this consultation first)")
        now = dt.datetime.now(dt.UTC)
        async with Attachment._meta.db.transaction():
            for position, attachment_id in enumerate(wanted):
                claimed = (
                    await Attachment.update(
                        {
                            Attachment.message_room: room,
                            Attachment.message_sender: principal.id,
                            Attachment.message_client_id: client_id,
                            Attachment.message_position: position,
                            Attachment.sent_at: now,
                        }
                    )
                    .where((Attachment.id == attachment_id) & free)
                    .returning(Attachment.id)
                )
                if not claimed:
                    raise AttachmentRefused("conflict", "a file was already sent with another message")
        return [_ref(by_id[i]) for i in wanted]


class AttachingStore:
    """A ``MessageStore`` that gives the messages ``inner`` reads back the files they carry.

    Appends pass through (a new message already holds its files, from the claim); a resend's
    stored original, and every read, get theirs from the attachment table.
    """

    def __init__(self, inner: MessageStore) -> None:
        self.inner = inner

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def append_batch(self, batch: list[NewMessage]) -> list[Appended]:
        results = await self.inner.append_batch(batch)
        sent = {(m.room, m.sender_id, m.client_id): m.attachments for m in batch if m.attachments}
        results = [  # a store may build a new message from its row, which has no files
            Appended(msgspec.structs.replace(r.message, attachments=sent[_key(r.message)]), True)
            if r.created and not r.message.attachments and _key(r.message) in sent
            else r
            for r in results
        ]
        if all(r.created for r in results):
            return results
        filled = await self._fill([r.message for r in results if not r.created])
        by_key = {_key(m): m for m in filled}
        return [r if r.created else Appended(by_key[_key(r.message)], False) for r in results]

    async def read_after(self, room: str, after_seq: int, limit: int) -> list[StoredMessage]:
        return await self._fill(await self.inner.read_after(room, after_seq, limit))

    async def read_last(self, room: str, limit: int) -> list[StoredMessage]:
        return await self._fill(await self.inner.read_last(room, limit))

    async def read_between(
        self, room: str, after_seq: int, before_seq: int | None, limit: int, *, newest: bool = False
    ) -> list[StoredMessage]:
        return await self._fill(await self.inner.read_between(room, after_seq, before_seq, limit, newest=newest))

    async def last_seq(self, room: str) -> int:
        return await self.inner.last_seq(room)

    async def find(self, sender_id: str, room: str, client_id: str) -> StoredMessage | None:
        found = await self.inner.find(sender_id, room, client_id)
        return None if found is None else (await self._fill([found]))[0]

    async def _fill(self, messages: list[StoredMessage]) -> list[StoredMessage]:
        """``messages`` with their files (one query per room among them)."""
        if not messages:
            return messages
        files: dict[tuple[str, str, str], list[AttachmentRef]] = {}
        for room, client_ids in _by_room(messages).items():
            rows = (
                await Attachment.select(*_REF_COLUMNS, Attachment.message_sender, Attachment.message_client_id)
                .where((Attachment.message_room == room) & Attachment.message_client_id.is_in(sorted(client_ids)))
                .order_by(Attachment.message_position)
            )
            for row in rows:
                files.setdefault((room, row["message_sender"], row["message_client_id"]), []).append(_ref(row))
        if not files:
            return messages
        return [
            msgspec.structs.replace(m, attachments=tuple(files[_key(m)])) if _key(m) in files else m for m in messages
        ]


def _key(m: StoredMessage) -> tuple[str, str, str]:
    return (m.room, m.sender_id, m.client_id)


def _by_room(messages: Iterable[StoredMessage]) -> dict[str, set[str]]:
    rooms: dict[str, set[str]] = {}
    for m in messages:
        rooms.setdefault(m.room, set()).add(m.client_id)
    return rooms
