"""Listing photos served from the evidence store: the archived bytes, never fetched again from the site.

The bytes are hostile: a "photo" may be SVG with script, HTML, or anything its server labelled
image/png. So the type comes from the bytes themselves and only raster formats a browser shows as
images are served, under their own image/* type; the payload must still hash to the SHA-256 recorded
at capture, so what an analyst sees is what the listing's evidence says was there.
"""

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from core.settings import Settings
from crawlers.evidence_files import evidence_path, read_payload

MAX_PHOTO_BYTES = 20 * 1024 * 1024
# Pillow's name for the format -> the only types served. No SVG (script), no ICO/BMP/TIFF oddities.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class PhotoUnavailable(Exception):
    """Why a photo cannot be shown; `status` is the HTTP answer (404 absent, 409 altered, 415 not an image)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ArchivedPhoto:
    data: bytes
    media_type: str
    extension: str


def _record(settings: Settings, photo: dict[str, Any]) -> tuple[Path, int] | None:
    path = evidence_path(settings, photo.get("warc_file"), (".warc", ".warc.gz"))
    offset = photo.get("warc_offset")
    return (path, offset) if path is not None and isinstance(offset, int) and offset >= 0 else None


def archived_flags(settings: Settings, doc: dict[str, Any]) -> list[bool]:
    """For each photo of the listing, whether its WARC record is on this server (so a thumbnail is worth asking)."""
    return [_record(settings, photo) is not None for photo in doc.get("photos") or [] if isinstance(photo, dict)]


def archived_photo(settings: Settings, doc: dict[str, Any], index: int) -> ArchivedPhoto:
    """The listing's photo number `index` from its WARC record, checked against its SHA-256 and sniffed."""
    photos = [p for p in doc.get("photos") or [] if isinstance(p, dict)]
    if not 0 <= index < len(photos):
        raise PhotoUnavailable(404, "This listing has no such photo.")
    photo = photos[index]
    found = _record(settings, photo)
    read = read_payload(*found, MAX_PHOTO_BYTES) if found is not None else None
    if read is None:
        raise PhotoUnavailable(404, "This photo's WARC record is not on this server.")
    target, data = read
    if target != photo.get("url") or hashlib.sha256(data).hexdigest() != photo.get("sha256"):
        raise PhotoUnavailable(409, "The archived photo does not match its recorded URL and SHA-256; not shown.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        kind = ""
    if kind not in IMAGE_TYPES:
        raise PhotoUnavailable(415, "The archived bytes are not a PNG, JPEG, GIF or WebP image; not shown.")
    return ArchivedPhoto(data, IMAGE_TYPES[kind], kind.lower().replace("jpeg", "jpg"))
