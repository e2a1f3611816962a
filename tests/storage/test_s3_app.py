"""The app on STORAGE_URL=s3://… (against moto's server): S3_* settings reach the store, and a
photo goes up and comes back through it."""

from __future__ import annotations

import io
import uuid

import boto3
import pytest
from PIL import Image

from tests.conftest import app_client, make_settings, wipe
from tests.consult_helpers import open_consultation
from tests.storage.conftest import S3_KEYS, make_bucket


@pytest.fixture
async def client(sqlite_url, s3_endpoint):
    bucket = f"cc-app-{uuid.uuid4().hex[:10]}"
    make_bucket(s3_endpoint, bucket)
    settings = make_settings(
        sqlite_url,
        storage_url=f"s3://{bucket}/visits",
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id=S3_KEYS["access_key_id"],
        s3_secret_access_key=S3_KEYS["secret_access_key"],
    )
    async with app_client(settings) as http:
        await wipe(http.app)
        http.bucket = bucket
        yield http


async def test_a_photo_goes_through_s3(client, s3_endpoint):
    c = await open_consultation(client)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 9, 9)).save(out, "JPEG")
    sent = await client.post(
        f"/api/v1/consultations/{c['id']}/attachments",
        files={"file": ("p.jpg", out.getvalue())},
        headers=c["patient"]["h"],
    )
    assert sent.status_code == 201, sent.text
    file_id = sent.json()["id"]
    got = await client.get(f"/api/v1/attachments/{file_id}", headers=c["doctor"]["h"])
    assert got.status_code == 200 and len(got.content) == sent.json()["size"]
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        **{"aws_access_key_id": S3_KEYS["access_key_id"], "aws_secret_access_key": S3_KEYS["secret_access_key"]},
    )
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=client.bucket)["Contents"])
    assert keys == [f"visits/attachments/{file_id}/original", f"visits/attachments/{file_id}/thumbnail"]
