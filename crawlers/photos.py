"""Listing photos: fetched like pages (same politeness, allowed domains, WARC), hashed two ways.

Sellers reuse the same product photos across sites and accounts, so a photo's SHA-256
(exact copies) and its perceptual hash (pHash from `imagehash`: re-encoded, resized or
lightly edited copies land a few bits apart) are the keys seller clustering and relisting
detection match on. Photos are untrusted input: bytes are capped by the download, pixels by
Pillow's decompression-bomb limit, and an undecodable photo keeps its SHA-256 without a pHash.

Menus, price lists and pill close-ups are often posted as pictures with little text around them, so
each photo is also read by OCR (Tesseract, English and Spanish): downscaled first, skipped when too small
to hold readable text or when no row of it crosses enough sharp edges to be a line of print (most product
shots: a Tesseract run costs most of a second, the check a few milliseconds), cut off after `OCR_TIMEOUT_S`
a photo, once per distinct photo, in batches (one Tesseract run loads the language models once for up to
`OCR_BATCH` photos) run by worker threads, so the crawl's event loop never waits on it.
"""

import asyncio
import io
import os
import re
import tempfile
import warnings
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
OCR_BATCH = 32  # photos per Tesseract run (see `read_texts`)
OCR_LINGER_S = 1.0  # how long the first queued photo waits for others before its batch runs anyway
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

PhotoHash = tuple[str | None, int | None, int | None]


@dataclass(frozen=True)
class PhotoFacts:
    phash: str | None
    width: int | None
    height: int | None
    text: str | None


def perceptual_hash(data: bytes) -> PhotoHash:
    """(pHash as 16 hex digits, width, height); (None, None, None) when the bytes are not a decodable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return None, width, height
                image.load()
                return str(imagehash.phash(image)), width, height
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None, None, None


def prepared_for_ocr(data: bytes) -> Image.Image | None:
    """The photo in grayscale at most `OCR_MAX_SIDE` a side, or None: undecodable, too small, or no line of print.

    Bounds time and memory whatever was posted, and spares Tesseract the photos it could read nothing in.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or min(width, height) < OCR_MIN_SIDE:
                return None
            gray = ImageOps.exif_transpose(image).convert("L")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    gray.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE))
    return gray if may_hold_print(gray) else None


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


def read_text(data: bytes, timeout_s: float = OCR_TIMEOUT_S) -> str | None:
    """The text in one photo, or None: undecodable, too small, no line of print, no text, or too slow."""
    image = prepared_for_ocr(data)
    return None if image is None else read_texts([image], timeout_s)[0]


def may_hold_print(gray: Image.Image) -> bool:
    """Whether enough rows of a grayscale picture cross enough sharp edges to be lines of print.

    Errs towards yes (noise and texture pass): a false yes costs one Tesseract run, a false no loses text.
    """
    pixels = np.asarray(gray, dtype=np.int16)
    sharp = np.abs(np.diff(pixels, axis=1)) > EDGE_CONTRAST
    edges_per_row = (sharp[:, 1:] & ~sharp[:, :-1]).sum(axis=1)  # runs of sharp steps: one per glyph edge
    return int((edges_per_row >= PRINT_ROW_EDGES).sum()) >= PRINT_ROWS


class PhotoReader:
    """OCR once per distinct photo (by SHA-256), batched, in worker threads; the event loop never waits on it.

    Photos are decoded and checked in the threads, then queued; a batch goes to Tesseract when it holds
    `batch` photos or `linger_s` after its first one, so a busy crawl pays the model loading once per
    batch rather than once per photo. Concurrent requests for the same bytes share one result.
    """

    def __init__(
        self, memo: int = 20_000, workers: int = OCR_WORKERS, batch: int = OCR_BATCH, linger_s: float = OCR_LINGER_S
    ) -> None:
        self.memo = memo
        self.batch = batch
        self.linger_s = linger_s
        self._known: dict[str, asyncio.Future[str | None]] = {}
        self._queue: list[tuple[Image.Image, asyncio.Future[str | None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")

    async def read_text(self, data: bytes, sha256: str) -> str | None:
        known = self._known.get(sha256)
        if known is None:
            known = asyncio.get_running_loop().create_future()
            if len(self._known) < self.memo:
                self._known[sha256] = known
            await self._enqueue(data, known)
        return await asyncio.shield(known)

    async def _enqueue(self, data: bytes, result: asyncio.Future[str | None]) -> None:
        loop = asyncio.get_running_loop()
        try:
            image = await loop.run_in_executor(self._pool, prepared_for_ocr, data)
        except RuntimeError:  # the pool was shut down (crawl closing): the photo keeps no text rather than hanging
            result.set_result(None)
            return
        if image is None:
            result.set_result(None)
            return
        self._queue.append((image, result))
        if len(self._queue) >= self.batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.linger_s, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._queue = self._queue, []
        if batch:
            task = asyncio.get_running_loop().run_in_executor(self._pool, read_texts, [image for image, _ in batch])
            task.add_done_callback(lambda done: _settle(done, [result for _, result in batch]))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settle(done: asyncio.Future[list[str | None]], results: list[asyncio.Future[str | None]]) -> None:
    """Hand each waiting photo its text; a batch that failed outright (temp disk full, pool shut down) gives None,
    as a photo never stops its listing."""
    texts = done.result() if not done.cancelled() and done.exception() is None else [None] * len(results)
    for result, text in zip(results, texts, strict=True):
        if not result.done():
            result.set_result(text)


class PhotoHasher:
    """pHash once per distinct photo (by SHA-256), in a worker thread instead of on the crawl's event loop.

    Decoding and resizing a full-size photo takes tens of milliseconds, during which a crawl that
    hashed on its event loop would fetch and parse nothing; Pillow releases the GIL for most of it,
    so a thread overlaps it with the crawl. Sellers post the same photo under many URLs, and equal
    bytes give an equal pHash, so the result is kept by SHA-256 (bounded) and shared by concurrent
    requests for the same bytes. One thread: `perceptual_hash` sets a warnings filter for its call, and
    the warnings filters are process-wide, so two threads hashing at once could undo each other's.
    """

    def __init__(self, memo: int = 20_000, ocr: bool = False) -> None:
        self.memo = memo
        self._known: dict[str, asyncio.Future[PhotoHash]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phash")
        self._reader = PhotoReader(memo) if ocr else None

    async def analyse(self, data: bytes, sha256: str) -> PhotoFacts:
        """pHash and size, and the photo's text when OCR is on; both run at once, off the event loop."""
        if self._reader is None:
            return PhotoFacts(*await self.perceptual_hash(data, sha256), None)
        (phash, width, height), text = await asyncio.gather(
            self.perceptual_hash(data, sha256), self._reader.read_text(data, sha256)
        )
        return PhotoFacts(phash, width, height, text)

    async def perceptual_hash(self, data: bytes, sha256: str) -> PhotoHash:
        known = self._known.get(sha256)
        if known is None:
            known = asyncio.get_running_loop().run_in_executor(self._pool, perceptual_hash, data)
            if len(self._known) < self.memo:
                self._known[sha256] = known
        return await asyncio.shield(known)  # one caller cancelled must not cancel the others' result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._reader is not None:
            self._reader.close()
