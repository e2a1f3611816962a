"""What a file is, decided by its bytes, and the re-encoding that strips what it must not carry.

Only PNG, JPEG, WebP, HEIC and PDF are accepted, recognised by their first bytes (never by the
name or the declared type). Images are decoded and encoded again by Pillow (HEIC through
pillow-heif, and re-encoded as JPEG, which every browser shows): the orientation is applied and
every piece of metadata (EXIF with GPS and camera, XMP, ICC, comments) is left behind, because
only the pixels are written. An image over ``max_pixels`` is refused before it is decoded (a
decompression bomb). PDFs are kept as given. Runs in a worker thread: it is CPU work.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass
from pathlib import Path

import anyio
from PIL import Image, ImageOps

from careconnect.domain.errors import Invalid

THUMBNAIL_SIZE = (320, 320)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


@dataclass(frozen=True)
class Kind:
    name: str  # png | jpeg | webp | heic | pdf
    content_type: str  # as stored and served
    extension: str  # of the stored file's name
    pillow_format: str  # what Pillow must find when it decodes the file ("" for a PDF)
    save_as: str  # what Pillow writes ("" for a PDF: stored as given)


PNG = Kind("png", "image/png", ".png", "PNG", "PNG")
JPEG = Kind("jpeg", "image/jpeg", ".jpg", "JPEG", "JPEG")
WEBP = Kind("webp", "image/webp", ".webp", "WEBP", "WEBP")
HEIC = Kind("heic", "image/jpeg", ".jpg", "HEIF", "JPEG")  # shown everywhere as JPEG
PDF = Kind("pdf", "application/pdf", ".pdf", "", "")


def unsupported(message: str) -> Invalid:
    return Invalid(
        f"{message} Send a PNG, JPEG, WebP or HEIC photo, or a PDF.",
        code="unsupported_file",
        errors=[{"field": "file", "message": message}],
    )


def sniff(head: bytes) -> Kind:
    """The kind of a file from its first bytes (at least 16), or 422 ``unsupported_file``."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    if head.startswith(b"%PDF-"):
        return PDF
    raise unsupported("This type of file is not accepted.")


@dataclass(frozen=True)
class Processed:
    """The file to store (``path``), its thumbnail (None for a PDF), and the image's size."""

    kind: Kind
    path: Path
    thumbnail: Path | None
    width: int | None
    height: int | None


class Decoders:
    """At most ``at_once`` images decoded at a time in this process (each holds its pixels, up to
    ``ATTACHMENT_MAX_PIXELS`` x 4 bytes, while it is re-encoded); the others wait their turn."""

    def __init__(self, at_once: int = 2) -> None:
        self._slots = asyncio.Semaphore(at_once)

    async def process(self, source: Path, kind: Kind, folder: Path, max_pixels: int) -> Processed:
        if kind is PDF:
            return process(source, kind, folder, max_pixels)
        async with self._slots:
            return await anyio.to_thread.run_sync(process, source, kind, folder, max_pixels)


def process(source: Path, kind: Kind, folder: Path, max_pixels: int) -> Processed:
    """Re-encode an image without its metadata, with a thumbnail; a PDF as it is."""
    if kind is PDF:
        return Processed(kind, source, None, None, None)
    if kind is HEIC:
        import pillow_heif

        pillow_heif.register_heif_opener()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=[kind.pillow_format]) as image:
                width, height = image.size
                if width * height > max_pixels or width <= 0 or height <= 0:
                    raise unsupported(f"The image is too large ({width}x{height} pixels).")
                image.load()
                upright = ImageOps.exif_transpose(image)
                pixels = _pixels_only(upright, kind)
    except Invalid:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning, EOFError):
        raise unsupported(f"The file does not decode as a {kind.name.upper()} image.") from None
    out = folder / f"stored{kind.extension}"
    _save(pixels, out, kind.save_as)
    thumb = pixels.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    thumb_path = folder / "thumbnail.jpg"
    _save(thumb.convert("RGB"), thumb_path, "JPEG")
    return Processed(kind, out, thumb_path, pixels.width, pixels.height)


def _pixels_only(image: Image.Image, kind: Kind) -> Image.Image:
    """A new image holding only ``image``'s pixels: nothing of its ``info`` (EXIF, XMP, ICC...) comes along."""
    mode = image.mode
    if kind.save_as == "JPEG":
        mode = "RGB" if mode not in ("L", "RGB") else mode
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        mode = "RGBA"  # a palette's transparency lives in ``info``, which is left behind
    converted = image.convert(mode) if mode != image.mode else image
    clean = Image.new(converted.mode, converted.size)
    clean.paste(converted)
    return clean


def _save(image: Image.Image, path: Path, fmt: str) -> None:
    options: dict[str, object] = {"optimize": True}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = 88
    image.save(path, format=fmt, **options)
