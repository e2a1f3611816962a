"""Files never sent are swept a day after their upload; a file a message carries is kept."""

from __future__ import annotations

import datetime as dt
import io

import msgspec
import pytest
from PIL import Image

from careconnect.domain.attachments.sweep import SWEEP, AttachmentSweeper, SweepAttachment
from careconnect.domain.notifications.jobs import Sent, Skipped
from careconnect.domain.notifications.outbox import Job, Outbox
from careconnect.tables.attachments import Attachment
from tests.conftest import app_dependency, make_settings
from tests.consult_helpers import open_consultation


@pytest.fixture
def settings(database_url, tmp_path):
    return make_settings(database_url, storage_url=f"file://{tmp_path / 'blobs'}")


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(out, "JPEG")
    return out.getvalue()


def job_of(record, attachment_id: str) -> Job:
    return Job(
        id=record.id,
        kind=record.kind,
        payload=msgspec.json.encode(SweepAttachment(attachment_id)).decode(),
        dedupe_key=record.dedupe_key,
        topic=None,
        attempts=1,
        due_at=record.due_at,
        run_at=record.due_at,
        claim_token="t",
    )


async def test_an_unsent_file_is_swept_after_a_day_and_a_sent_one_kept(client, tmp_path):
    c = await open_consultation(client)
    ids = []
    for name in ("a.jpg", "b.jpg"):
        sent = await client.post(
            f"/api/v1/consultations/{c['id']}/attachments", files={"file": (name, photo())}, headers=c["patient"]["h"]
        )
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["id"])
    blobs = app_dependency(client.app, "blobs")
    outbox = Outbox()
    records = [await outbox.find(f"{SWEEP}:{i}") for i in ids]
    assert all(r is not None for r in records)
    uploaded = await Attachment.select(Attachment.created_at).where(Attachment.id == ids[0]).first()
    assert abs(records[0].due_at - (uploaded["created_at"] + dt.timedelta(days=1))) < dt.timedelta(seconds=1)
    await Attachment.update({Attachment.sent_at: dt.datetime.now(dt.UTC)}).where(Attachment.id == ids[1])
    sweeper = AttachmentSweeper(blobs)
    assert isinstance(await sweeper(job_of(records[0], ids[0])), Sent)
    assert isinstance(await sweeper(job_of(records[1], ids[1])), Skipped)
    assert not await blobs.exists(f"attachments/{ids[0]}/original")
    assert not await blobs.exists(f"attachments/{ids[0]}/thumbnail")
    assert await blobs.exists(f"attachments/{ids[1]}/original")
    gone = await client.get(f"/api/v1/attachments/{ids[0]}", headers=c["patient"]["h"])
    assert gone.status_code == 404
    kept = await client.get(f"/api/v1/attachments/{ids[1]}", headers=c["patient"]["h"])
    assert kept.status_code == 200
    assert isinstance(await sweeper(job_of(records[0], ids[0])), Skipped)  # run twice: nothing left to do
