"""Listing photos: fetched like pages (same politeness, allowed domains, WARC), hashed two ways.

Sellers reuse the same product photos across sites and accounts, so a photo's SHA-256
(exact copies) and its perceptual hash (pHash from `imagehash`: re-encoded, resized or
lightly edited copies land a few bits apart) are the keys seller clustering and relisting
detection match on. Photos are untrusted input: bytes are capped by the download, pixels by
Pillow's decompression-bomb limit, and an undecodable photo keeps its SHA-256 without a pHash.
"""

import io
import warnings

import imagehash
import scipy.fftpack  # noqa: F401  imagehash imports it on the first pHash (a second or more): do it at start-up
from PIL import Image, UnidentifiedImageError

# A photo over this many pixels is refused before decoding (a small file can claim huge dimensions).
MAX_PIXELS = 40_000_000


def perceptual_hash(data: bytes) -> tuple[str | None, int | None, int | None]:
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
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        return None, None, None
