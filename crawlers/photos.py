"""Listing photos: fetched like pages (same politeness, allowed domains, WARC), hashed two ways.

Sellers reuse the same product photos across sites and accounts, so a photo's SHA-256
(exact copies) and its perceptual hash (pHash from `imagehash`: re-encoded, resized or
lightly edited copies land a few bits apart) are the keys seller clustering and relisting
detection match on. Photos are untrusted input: bytes are capped by the download, pixels by
Pillow's decompression-bomb limit, and an undecodable photo keeps its SHA-256 without a pHash.
"""

import asyncio
import io
import warnings
from concurrent.futures import ThreadPoolExecutor

import imagehash
import scipy.fftpack  # noqa: F401  imagehash imports it on the first pHash (a second or more): do it at start-up
from PIL import Image, UnidentifiedImageError

# A photo over this many pixels is refused before decoding (a small file can claim huge dimensions).
MAX_PIXELS = 40_000_000

PhotoHash = tuple[str | None, int | None, int | None]


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


class PhotoHasher:
    """pHash once per distinct photo (by SHA-256), in a worker thread instead of on the crawl's event loop.

    Decoding and resizing a full-size photo takes tens of milliseconds, during which a crawl that
    hashed on its event loop would fetch and parse nothing; Pillow releases the GIL for most of it,
    so a thread overlaps it with the crawl. Sellers post the same photo under many URLs, and equal
    bytes give an equal pHash, so the result is kept by SHA-256 (bounded) and shared by concurrent
    requests for the same bytes. One thread: `perceptual_hash` sets a warnings filter for its call, and
    the warnings filters are process-wide, so two threads hashing at once could undo each other's.
    """

    def __init__(self, memo: int = 20_000) -> None:
        self.memo = memo
        self._known: dict[str, asyncio.Future[PhotoHash]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phash")

    async def perceptual_hash(self, data: bytes, sha256: str) -> PhotoHash:
        known = self._known.get(sha256)
        if known is None:
            known = asyncio.get_running_loop().run_in_executor(self._pool, perceptual_hash, data)
            if len(self._known) < self.memo:
                self._known[sha256] = known
        return await asyncio.shield(known)  # one caller cancelled must not cancel the others' result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
