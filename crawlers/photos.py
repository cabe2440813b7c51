"""Listing photos: fetched like pages (same politeness, allowed domains, WARC), hashed two ways.

Sellers reuse the same product photos across sites and accounts, so a photo's SHA-256
(exact copies) and its perceptual hash (pHash from `imagehash`: re-encoded, resized or
lightly edited copies land a few bits apart) are the keys seller clustering and relisting
detection match on. Photos are untrusted input: bytes are capped by the download, pixels by
Pillow's decompression-bomb limit, and an undecodable photo keeps its SHA-256 without a pHash.

Menus, price lists and pill close-ups are often posted as pictures with little text around them, so
photos are also read by OCR (Tesseract, English and Spanish), but not during the crawl: a Tesseract run
costs a large share of a CPU-second where a page costs milliseconds. The crawl queues every photo big
enough to hold readable text; `crawlers.photo_text` reads them from the WARC once the fetch is done,
skips those in which no row crosses enough sharp edges to be a line of print (most product shots: a
few milliseconds against a Tesseract run), and reads the rest downscaled, in batches (one Tesseract
run loads the language models once for up to `OCR_BATCH` photos), each cut off after `OCR_TIMEOUT_S`.
"""

import asyncio
import io
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
import pytesseract
import scipy.fftpack  # noqa: F401  imagehash imports it on the first pHash (a second or more): do it at start-up
from PIL import Image, ImageOps, UnidentifiedImageError

from core.schema import MAX_PHOTO_TEXT

# A photo over this many pixels is refused before decoding (a small file can claim huge dimensions).
MAX_PIXELS = 40_000_000
OCR_LANGUAGES = "eng+spa"
OCR_MAX_SIDE = 1_600  # larger photos are downscaled: phone photos of a menu read as well at this size
OCR_MIN_SIDE = 120  # thumbnails, avatars and icons hold no text worth the time
OCR_TIMEOUT_S = 10
OCR_WORKERS = 2
HASH_WORKERS = 2  # photos decoded and hashed at once during the crawl (Pillow and numpy release the GIL)
OCR_BATCH = 32  # photos per Tesseract run (see `read_texts`)
# A line of n legible characters is crossed by about 2n light/dark edges; a row "looks like print" from 6
# characters on, and a line of print is several rows tall. Product shots, flat graphics and smooth photos
# stay far below (the local sites' product photos: at most 8 edges a row); busy photos pass and are read.
EDGE_CONTRAST = 40  # grey levels between neighbouring pixels
PRINT_ROW_EDGES = 12
PRINT_ROWS = 8
# Tesseract's OpenMP threads would fight each other and the crawl; parallelism comes from the worker threads.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\f\v]+")


@dataclass(frozen=True)
class PhotoFacts:
    phash: str | None
    width: int | None
    height: int | None

    @property
    def worth_reading(self) -> bool:
        """Decodable and big enough to hold readable text: queued for OCR (`crawlers.photo_text`)."""
        return self.width is not None and self.height is not None and min(self.width, self.height) >= OCR_MIN_SIDE


def analyse(data: bytes) -> PhotoFacts:
    """pHash (16 hex digits) and size; empty when not an image.

    The size is checked before any pixel is decoded (a small file can claim huge dimensions), below
    Pillow's own decompression-bomb limit, so no warnings filter is needed and threads can share this.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return PhotoFacts(None, width, height)
            image.load()
            phash = str(imagehash.phash(image))
            return PhotoFacts(phash, width, height)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return PhotoFacts(None, None, None)


def _grayscale_for_ocr(image: Image.Image) -> Image.Image | None:
    if min(image.size) < OCR_MIN_SIDE:
        return None
    gray = ImageOps.exif_transpose(image.convert("L"))  # grey first: the turn then copies a third of the bytes
    gray.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE))
    return gray


def prepared_for_ocr(data: bytes) -> Image.Image | None:
    """The photo in grayscale at most `OCR_MAX_SIDE` a side, or None: undecodable, too small, or no line of print.

    Bounds time and memory whatever was posted, and spares Tesseract the photos it could read nothing in.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.size[0] * image.size[1] > MAX_PIXELS:
                return None
            gray = _grayscale_for_ocr(image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return gray if gray is not None and may_hold_print(gray) else None


def _clean(raw: str) -> str | None:
    text = _BLANK_LINES.sub("\n", _SPACES.sub(" ", raw)).strip()
    return text[:MAX_PHOTO_TEXT] or None


def read_texts(images: list[Image.Image], timeout_s: float = OCR_TIMEOUT_S) -> list[str | None]:
    """The text in each prepared photo, from ONE Tesseract run over all of them (English + Spanish).

    Loading the two language models costs more than reading a page (about 0.25 s against 0.04 s of CPU
    for a price list), so photos are read in batches: Tesseract takes a list file and separates pages
    with a form feed. The run gets `timeout_s` per photo; if it fails or times out, each photo is read
    alone under its own `timeout_s`, so one bad photo costs only its own text.
    """
    if not images:
        return []
    with tempfile.TemporaryDirectory(prefix="listingwatch-ocr-") as tmp:
        paths = [Path(tmp) / f"{n}.png" for n in range(len(images))]
        for image, path in zip(images, paths, strict=True):
            image.save(path, format="PNG", compress_level=1)
        if len(images) == 1:
            return [_tesseract(str(paths[0]), 1, timeout_s)[0]]
        batch = Path(tmp) / "batch.txt"
        batch.write_text("".join(f"{path}\n" for path in paths), encoding="utf-8")
        texts = _tesseract(str(batch), len(images), timeout_s * len(images))
        if texts is not None:
            return texts
        return [_tesseract(str(path), 1, timeout_s)[0] for path in paths]


def _tesseract(target: str, pages: int, timeout_s: float) -> list[str | None] | None:
    """Texts of the `pages` pages Tesseract reads from `target` (an image, or a list file of images)."""
    try:
        raw = pytesseract.image_to_string(target, lang=OCR_LANGUAGES, timeout=timeout_s)
    except (RuntimeError, pytesseract.TesseractError, OSError):  # RuntimeError: pytesseract's timeout
        return None if pages > 1 else [None]
    texts = raw.split("\f")
    if pages > 1 and len(texts) < pages:
        return None
    return [_clean(text) for text in texts[:pages]]


def may_hold_print(gray: Image.Image) -> bool:
    """Whether enough rows of a grayscale picture cross enough sharp edges to be lines of print.

    Errs towards yes (noise and texture pass): a false yes costs one Tesseract run, a false no loses text.
    """
    pixels = np.asarray(gray)[::2].astype(np.int16)  # every other row: a line of print is more than 2 rows tall
    sharp = np.abs(np.diff(pixels, axis=1)) > EDGE_CONTRAST
    edges_per_row = (sharp[:, 1:] & ~sharp[:, :-1]).sum(axis=1)  # runs of sharp steps: one per glyph edge
    return int((edges_per_row >= PRINT_ROW_EDGES).sum()) * 2 >= PRINT_ROWS


class PhotoHasher:
    """pHash once per distinct photo (by SHA-256), in a worker thread instead of on the crawl's event loop.

    Decoding and resizing a full-size photo takes tens of milliseconds, during which a crawl that
    hashed on its event loop would fetch and parse nothing; Pillow releases the GIL for most of it,
    so a thread overlaps it with the crawl. Sellers post the same photo under many URLs, and equal
    bytes give an equal pHash, so the result is kept by SHA-256 (bounded) and shared by concurrent
    requests for the same bytes.
    """

    def __init__(self, memo: int = 20_000, workers: int = HASH_WORKERS) -> None:
        self.memo = memo
        self._known: dict[str, asyncio.Future[PhotoFacts]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="phash")

    async def analyse(self, data: bytes, sha256: str) -> PhotoFacts:
        known = self._known.get(sha256)
        if known is None:
            known = asyncio.get_running_loop().run_in_executor(self._pool, analyse, data)
            if len(self._known) < self.memo:
                self._known[sha256] = known
        return await asyncio.shield(known)  # one caller cancelled must not cancel the others' result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
