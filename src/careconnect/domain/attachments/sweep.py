"""Files never sent (issue 20): an ``attachment.sweep`` outbox job per upload, due a day after it.

When it runs, a file that no message named by then is deleted, its bytes and its row; a file a
message carries is kept. The job is written in the transaction that writes the file's row, so
no row is left without its sweep.
"""

from __future__ import annotations

import datetime as dt
import logging

import msgspec

from careconnect.domain.notifications.jobs import GiveUp, Outcome, Sent, Skipped
from careconnect.domain.notifications.outbox import Job, Outbox
from careconnect.storage import BlobStore
from careconnect.tables.attachments import Attachment

SWEEP = "attachment.sweep"
UNSENT_KEPT = dt.timedelta(days=1)
log = logging.getLogger("careconnect.attachments")


class SweepAttachment(msgspec.Struct, frozen=True):
    attachment_id: str


async def schedule_sweep(outbox: Outbox, attachment_id: str, uploaded_at: dt.datetime) -> None:
    await outbox.enqueue(
        SWEEP, SweepAttachment(attachment_id), key=f"{SWEEP}:{attachment_id}", run_at=uploaded_at + UNSENT_KEPT
    )


class AttachmentSweeper:
    """The ``attachment.sweep`` job kind: deletes the file if no message named it."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    async def __call__(self, job: Job) -> Outcome:
        try:
            sweep = job.decode(SweepAttachment)
        except msgspec.ValidationError as exc:
            raise GiveUp(f"not an attachment.sweep payload: {exc}") from None
        row = (
            await Attachment.select(Attachment.storage_key, Attachment.thumbnail_key, Attachment.sent_at)
            .where(Attachment.id == sweep.attachment_id)
            .first()
        )
        if row is None:
            return Skipped("the file is gone")
        if row["sent_at"] is not None:
            return Skipped("a message carries the file")
        # The row first: once it is gone no one can name the file, then the bytes.
        await Attachment.delete().where((Attachment.id == sweep.attachment_id) & Attachment.sent_at.is_null())
        for key in (row["storage_key"], row["thumbnail_key"]):
            if key:
                await self.blobs.delete(key)
        log.info("swept unsent attachment %s", sweep.attachment_id)
        return Sent()
