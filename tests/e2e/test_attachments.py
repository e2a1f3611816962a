"""Attachments over the real server (issue 20), on SQLite with files on disk and on PostgreSQL
with the files in the database: metadata stripped, types decided by content, limits, access."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from PIL import Image

from tests.consult_helpers import open_consultation
from tests.e2e.integrations import bot_token, new_integration
from tests.e2e.test_hub_edge import hub_socket
from tests.helpers import assert_problem, signed_in
from tests.live import LiveServer, served

MAX = 10 * 1024 * 1024
GPS_TAG = 0x8825


@pytest.fixture(scope="module", params=["sqlite+files", "postgres+database"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    if request.param == "sqlite+files":
        with served(folder, STORAGE_URL=f"file://{folder / 'blobs'}") as server:
            yield server
    else:
        with served(folder, "postgres", redis_db=3, STORAGE_URL="postgres") as server:
            yield server


def jpeg_with_gps(size: tuple[int, int] = (640, 480), orientation: int = 1) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel 12"  # Model
    exif[0x0112] = orientation
    exif[GPS_TAG] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", (300, 200), (0, 128, 0, 200))
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Patient")
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def heic_bytes() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 20, 200)).save(out, "HEIF")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def upload(http: httpx.AsyncClient, cid: str, headers: dict[str, str], name: str, data: bytes) -> httpx.Response:
    return await http.post(
        f"/api/v1/consultations/{cid}/attachments",
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


async def test_a_jpeg_comes_back_without_its_gps_and_camera_data(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        c = await open_consultation(http)
        original = jpeg_with_gps(orientation=6)  # rotated 90°: stored upright
        assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_TAG)
        sent = await upload(http, c["id"], c["patient"]["h"], "rash.jpg", original)
        assert sent.status_code == 201, sent.text
        meta = sent.json()
        assert meta["content_type"] == "image/jpeg" and meta["filename"] == "rash.jpg"
        assert (meta["width"], meta["height"]) == (480, 640)
        got = await http.get(f"/api/v1/attachments/{meta['id']}", headers=c["doctor"]["h"])
        assert got.status_code == 200
        assert got.headers["cache-control"] == "private, no-store"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-type"].startswith("image/jpeg")
        assert got.headers["content-disposition"].startswith("inline;")
        assert hashlib.sha256(got.content).hexdigest() == meta["sha256"] and len(got.content) == meta["size"]
        image = Image.open(io.BytesIO(got.content))
        exif = image.getexif()
        assert not exif.get_ifd(GPS_TAG) and 0x010F not in exif and 0x0110 not in exif and 0x0112 not in exif
        assert b"PhoneMaker" not in got.content and b"secret comment" not in got.content
        assert image.size == (480, 640)
        thumb = await http.get(f"/api/v1/attachments/{meta['id']}/thumbnail", headers=c["patient"]["h"])
        assert thumb.status_code == 200 and thumb.headers["cache-control"] == "private, no-store"
        small = Image.open(io.BytesIO(thumb.content))
        assert small.format == "JPEG" and max(small.size) <= 320


async def test_png_heic_and_pdf(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        c = await open_consultation(http)
        png = await upload(http, c["id"], c["patient"]["h"], "scan.png", png_bytes())
        assert png.status_code == 201, png.text
        assert png.json()["content_type"] == "image/png"
        got = await http.get(f"/api/v1/attachments/{png.json()['id']}", headers=c["doctor"]["h"])
        assert b"Jane Patient" not in got.content and Image.open(io.BytesIO(got.content)).format == "PNG"
        webp_out, webp_exif = io.BytesIO(), Image.Exif()
        webp_exif[0x010F] = "PhoneMaker"
        Image.new("RGB", (120, 80), (5, 5, 5)).save(webp_out, "WEBP", exif=webp_exif)
        assert b"PhoneMaker" in webp_out.getvalue()
        webp = await upload(http, c["id"], c["patient"]["h"], "x.webp", webp_out.getvalue())
        assert webp.status_code == 201 and webp.json()["content_type"] == "image/webp", webp.text
        got_webp = await http.get(f"/api/v1/attachments/{webp.json()['id']}", headers=c["doctor"]["h"])
        assert b"PhoneMaker" not in got_webp.content and Image.open(io.BytesIO(got_webp.content)).format == "WEBP"
        heic = await upload(http, c["id"], c["patient"]["h"], "IMG_0001.HEIC", heic_bytes())
        assert heic.status_code == 201, heic.text
        meta = heic.json()
        assert meta["content_type"] == "image/jpeg" and meta["filename"] == "IMG_0001.jpg"
        assert (meta["width"], meta["height"]) == (400, 300)
        shown = await http.get(f"/api/v1/attachments/{meta['id']}", headers=c["doctor"]["h"])
        assert Image.open(io.BytesIO(shown.content)).format == "JPEG"
        pdf = await upload(http, c["id"], c["doctor"]["h"], 'Überweisung "Dr. Ö";\r\nx.pdf', PDF)
        assert pdf.status_code == 201, pdf.text
        assert pdf.json()["content_type"] == "application/pdf" and "width" not in pdf.json()
        doc = await http.get(f"/api/v1/attachments/{pdf.json()['id']}", headers=c["patient"]["h"])
        assert doc.content == PDF
        disposition = doc.headers["content-disposition"]
        assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
        assert "filename*=UTF-8''%C3%9Cberweisung%20%22Dr.%20%C3%96%22%3Bx.pdf" in disposition
        no_thumb = await http.get(f"/api/v1/attachments/{pdf.json()['id']}/thumbnail", headers=c["patient"]["h"])
        assert_problem(no_thumb, 404, "not_found")
        listed = await http.get(f"/api/v1/consultations/{c['id']}/attachments", headers=c["doctor"]["h"])
        assert pdf.json()["id"] in [f["id"] for f in listed.json()]


def stored_blobs(live: LiveServer) -> list[str]:
    """The blob files of a ``file://`` store (an empty list for the database store: checked by the contract suite)."""
    url = live.env["STORAGE_URL"]
    if not url.startswith("file://"):
        return []
    root = Path(url.removeprefix("file://"))
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def half_an_upload(live: LiveServer, cid: str, authorization: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    head = (
        f"POST /api/v1/consultations/{cid}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n"
        "Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 5000000\r\n\r\n"
        '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4\n'
    )
    writer.write(head.encode() + b"0" * 300_000)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.5)


async def test_refused_types_bombs_and_sizes(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=60) as http:
        c = await open_consultation(http)
        p = c["patient"]["h"]
        before = stored_blobs(live)
        renamed = await upload(http, c["id"], p, "photo.jpg", b"MZ\x90\x00 this is an executable, not a photo" * 10)
        assert_problem(renamed, 422, "unsupported_file")
        broken = await upload(http, c["id"], p, "photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 500)
        assert_problem(broken, 422, "unsupported_file")
        svg = await upload(
            http, c["id"], p, "x.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>'
        )
        assert_problem(svg, 422, "unsupported_file")
        # A decompression bomb: 20,000 x 20,000 pixels of one colour, a few hundred KiB as PNG.
        out = io.BytesIO()
        Image.new("1", (20_000, 20_000)).save(out, "PNG")
        bomb = await upload(http, c["id"], p, "bomb.png", out.getvalue())
        assert_problem(bomb, 422, "unsupported_file")
        over = await upload(http, c["id"], p, "big.pdf", b"%PDF-1.4\n" + b"0" * (MAX + 1 - 9))
        assert_problem(over, 413, "too_large")
        # A client that goes away halfway through its upload: nothing stored, nothing logged.
        await half_an_upload(live, c["id"], p["Authorization"])
        assert stored_blobs(live) == before  # none of the refused or broken uploads left bytes behind
        exact = await upload(http, c["id"], p, "big.pdf", b"%PDF-1.4\n" + b"0" * (MAX - 9))
        assert exact.status_code == 201 and exact.json()["size"] == MAX
        no_field = await http.post(
            f"/api/v1/consultations/{c['id']}/attachments", files={"other": ("a.pdf", PDF)}, headers=p
        )
        assert_problem(no_field, 422, "validation_error")
        not_multipart = await http.post(f"/api/v1/consultations/{c['id']}/attachments", content=PDF, headers=p)
        assert_problem(not_multipart, 400, "bad_request")


async def test_strangers_get_404_and_closed_rooms_take_no_files(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        c = await open_consultation(http)
        sent = await upload(http, c["id"], c["patient"]["h"], "a.pdf", PDF)
        file_id = sent.json()["id"]
        _, stranger = await signed_in(http, "patient")
        _, other_doctor = await signed_in(http, "doctor")
        for h in (stranger, other_doctor):
            assert_problem(await http.get(f"/api/v1/attachments/{file_id}", headers=h), 404, "not_found")
            assert_problem(await http.get(f"/api/v1/attachments/{file_id}/thumbnail", headers=h), 404, "not_found")
            assert_problem(await upload(http, c["id"], h, "b.pdf", PDF), 404, "not_found")
        for bad in (str(uuid.uuid4()), "not-an-id", "x" * 300):
            assert_problem(await http.get(f"/api/v1/attachments/{bad}", headers=stranger), 404, "not_found")
        assert (await http.get(f"/api/v1/attachments/{file_id}")).status_code == 401
        done = await http.post(f"/api/v1/consultations/{c['id']}/complete", headers=c["doctor"]["h"])
        assert done.status_code == 200
        assert_problem(await upload(http, c["id"], c["patient"]["h"], "late.pdf", PDF), 409, "room_closed")
        # Still readable by the members after the visit.
        assert (await http.get(f"/api/v1/attachments/{file_id}", headers=c["patient"]["h"])).status_code == 200


async def test_an_invited_bot_can_read(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        c = await open_consultation(http)
        file_id = (await upload(http, c["id"], c["patient"]["h"], "lab.pdf", PDF)).json()["id"]
        creds = await new_integration(http, live, "Reader")
        bot: dict[str, Any] = {"Authorization": f"Bearer {await bot_token(http, creds)}"}
        assert_problem(await http.get(f"/api/v1/attachments/{file_id}", headers=bot), 404, "not_found")
        invited = await http.post(
            f"/api/v1/consultations/{c['id']}/participants",
            json={"client_id": creds["client_id"]},
            headers=c["doctor"]["h"],
        )
        assert invited.status_code == 201
        read = await http.get(f"/api/v1/attachments/{file_id}", headers=bot)
        assert read.status_code == 200 and read.content == PDF


async def frames_until(ws, wanted: str, timeout: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == wanted:
                return frame


async def test_messages_carry_their_files_live_in_replay_history_and_resend(live: LiveServer):
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        c = await open_consultation(http)
        room, p, d = c["room"], c["patient"], c["doctor"]
        photo = (await upload(http, c["id"], p["h"], "rash.jpg", jpeg_with_gps())).json()
        lab = (await upload(http, c["id"], p["h"], "lab.pdf", PDF)).json()
        doctors_file = (await upload(http, c["id"], d["h"], "letter.pdf", PDF)).json()
        patient_ws = await hub_socket(live.ws_url, p["token"], room)
        doctor_ws = await hub_socket(live.ws_url, d["token"], room)
        try:
            # Refused, each for this frame alone: another's file, an unknown id, six files, a bad id.
            for ids, code in (
                ([doctors_file["id"]], "not_found"),
                ([str(uuid.uuid4())], "not_found"),
                (["nope"], "not_found"),
                ([photo["id"]] * 6, "bad_request"),
            ):
                await patient_ws.send(
                    json.dumps({"type": "send", "room": room, "id": "x", "body": "", "attachments": ids})
                )
                error = await frames_until(patient_ws, "error")
                assert error["code"] == code and error["ref"] == "x", error
            frame = {"type": "send", "room": room, "id": "m1", "body": "", "attachments": [lab["id"], photo["id"]]}
            await patient_ws.send(json.dumps(frame))
            ack = await frames_until(patient_ws, "ack")
            live_message = await frames_until(doctor_ws, "message")
            assert live_message["body"] == "" and [a["id"] for a in live_message["attachments"]] == [
                lab["id"],
                photo["id"],
            ]
            assert live_message["attachments"][1] == {
                k: photo[k] for k in ("id", "filename", "content_type", "size", "width", "height")
            }
            assert "width" not in live_message["attachments"][0]
            # The same file cannot go with a second message; a resend gets the same message back.
            await patient_ws.send(json.dumps({**frame, "id": "m2", "body": "again"}))
            assert (await frames_until(patient_ws, "error"))["code"] == "conflict"
            await patient_ws.send(json.dumps(frame))
            again = await frames_until(patient_ws, "ack")
            assert again["seq"] == ack["seq"]
            await patient_ws.send(json.dumps({"type": "send", "room": room, "id": "m3", "body": "plain text"}))
            await frames_until(patient_ws, "ack")
        finally:
            await patient_ws.close()
            await doctor_ws.close()
        # A reconnect replays the message with its files.
        ws = await websockets.connect(live.ws_url, open_timeout=5)
        try:
            await ws.send(json.dumps({"type": "hello", "token": d["token"]}))
            await frames_until(ws, "welcome")
            await ws.send(json.dumps({"type": "join", "room": room, "since": 0}))
            replayed = [await frames_until(ws, "message") for _ in range(2)]
        finally:
            await ws.close()
        assert [a["id"] for a in replayed[0]["attachments"]] == [lab["id"], photo["id"]]
        assert "attachments" not in replayed[1]
        history = (await http.get(f"/api/v1/consultations/{c['id']}/messages", headers=d["h"])).json()["items"]
        assert history[0]["attachments"] == live_message["attachments"] and "attachments" not in history[1]
        # Sent files are the visit's: the doctor's list shows them (and the doctor's own upload).
        listed = [
            f["id"] for f in (await http.get(f"/api/v1/consultations/{c['id']}/attachments", headers=d["h"])).json()
        ]
        assert set(listed) == {lab["id"], photo["id"], doctors_file["id"]}
