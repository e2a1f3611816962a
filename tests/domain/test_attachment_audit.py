"""Uploads and downloads of attachments leave audit entries with the actor and the outcome."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from careconnect.tables import AuditEntry
from tests.conftest import make_settings
from tests.consult_helpers import open_consultation
from tests.helpers import signed_in


@pytest.fixture
def settings(database_url, tmp_path):
    return make_settings(database_url, storage_url=f"file://{tmp_path / 'blobs'}")


async def test_uploads_and_downloads_are_audited_with_actor_and_outcome(client):
    c = await open_consultation(client)
    out = io.BytesIO()
    Image.new("RGB", (32, 32)).save(out, "PNG")
    url = f"/api/v1/consultations/{c['id']}/attachments"
    ok = await client.post(url, files={"file": ("a.png", out.getvalue())}, headers=c["patient"]["h"])
    file_id = ok.json()["id"]
    refused = await client.post(url, files={"file": ("a.png", b"not a png at all")}, headers=c["patient"]["h"])
    assert refused.status_code == 422
    assert (await client.get(f"/api/v1/attachments/{file_id}", headers=c["doctor"]["h"])).status_code == 200
    stranger, stranger_h = await signed_in(client, "patient")
    assert (await client.get(f"/api/v1/attachments/{file_id}", headers=stranger_h)).status_code == 404
    rows = await AuditEntry.select(
        AuditEntry.action, AuditEntry.actor_id, AuditEntry.outcome, AuditEntry.resource_id, AuditEntry.patient_id
    ).where(AuditEntry.action.like("attachments.%"))
    seen = {(r["action"], str(r["actor_id"]), r["outcome"]) for r in rows}
    assert ("attachments.write", c["patient"]["id"], "success") in seen
    assert ("attachments.write", c["patient"]["id"], "unsupported_file") in seen
    assert ("attachments.read", c["doctor"]["id"], "success") in seen
    assert ("attachments.read", stranger["id"], "not_found") in seen
    success = [r for r in rows if r["outcome"] == "success"]
    assert all(r["resource_id"] == file_id and str(r["patient_id"]) == c["patient"]["id"] for r in success)
