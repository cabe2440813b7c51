"""OCR of a crawl's listing photos as a stage after the fetch, so the crawl never waits on Tesseract.

Reading a photo costs a large share of a CPU-second where fetching and parsing a page costs
milliseconds; read inline, a crawl of a responsive site spends most of its time waiting for OCR, and
the site sees it crawl slowly (`benchmarks/bench_crawl.py`). So the spider only queues the photos big
enough to hold text (by SHA-256, with their WARC record), and once the fetch is done this stage reads
those photos back from the WARC (the bytes the crawl archived, never fetched again), checks them
against their SHA-256, skips those with no line of print, OCRs the rest in batches on worker threads,
puts each text on every listing that carries the photo, and runs entity extraction again, so contacts
written only in a picture are found.
The lines this crawl wrote are rewritten atomically; earlier lines of an appended file stay as they were.
A photo left unread (time budget spent, record missing) is counted, never dropped silently.
"""

import hashlib
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from core.jsonl import atomic_writer
from core.schema import Listing
from core.settings import Settings
from crawlers.evidence_files import evidence_path, read_payload
from crawlers.photos import OCR_BATCH, OCR_WORKERS, prepared_for_ocr, read_texts
from crawlers.pipelines import ContactReading, enrich

MAX_PHOTO_BYTES = 50_000_000  # above any source's photos.max_bytes: a larger record is not a photo the crawl kept
# sha256 -> (WARC file, offset of the photo's response record)
OcrQueue = dict[str, tuple[str, int]]


@dataclass(frozen=True)
class OcrReport:
    queued: int
    read: int  # photos Tesseract ran on (with or without text found)
    with_text: int
    unread: int  # queued but not read: record missing or altered, or the time budget spent
    listings_updated: int
    seconds: float


def _payload(settings: Settings, sha256: str, record: tuple[str, int]) -> bytes | None:
    path = evidence_path(settings, record[0], (".warc", ".warc.gz"))
    found = read_payload(path, record[1], MAX_PHOTO_BYTES) if path is not None else None
    if found is None or hashlib.sha256(found[1]).hexdigest() != sha256:
        return None
    return found[1]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_queued(settings: Settings, queue: OcrQueue, deadline: float | None) -> tuple[dict[str, str | None], int]:
    """({sha256: text or None} for the photos read, how many could not be read) within `deadline` (monotonic)."""

    def batch(shas: list[str]) -> dict[str, str | None]:
        if deadline is not None and time.monotonic() >= deadline:
            return {}
        prepared = {sha: prepared_for_ocr(data) for sha in shas if (data := _payload(settings, sha, queue[sha]))}
        images = {sha: image for sha, image in prepared.items() if image is not None}
        texts = dict(zip(images, read_texts(list(images.values())), strict=True))
        return {sha: texts.get(sha) for sha in prepared}

    texts: dict[str, str | None] = {}
    with ThreadPoolExecutor(max_workers=OCR_WORKERS, thread_name_prefix="ocr") as pool:
        size = min(OCR_BATCH, max(1, math.ceil(len(queue) / OCR_WORKERS)))  # every worker gets a share
        for result in pool.map(batch, _chunks(sorted(queue), size)):
            texts.update(result)
    return texts, len(queue) - len(texts)


def fill_photo_texts(
    output: Path,
    start: int,
    queue: OcrQueue,
    settings: Settings,
    reading: ContactReading,
    budget_s: float | None = None,
) -> OcrReport:
    """Read the queued photos and rewrite the listings from byte `start` of `output` with their text."""
    began = time.monotonic()
    if not queue or not output.exists():
        return OcrReport(len(queue), 0, 0, len(queue), 0, 0.0)
    deadline = None if budget_s is None else began + budget_s
    texts, unread = read_queued(settings, queue, deadline)
    found = {sha: text for sha, text in texts.items() if text}
    updated = 0
    with output.open("rb") as source, atomic_writer(output) as target:
        target.write(source.read(start).decode("utf-8"))  # earlier runs' lines (the writer wrote UTF-8)
        for raw in source:
            line = raw.decode("utf-8")
            listing = _listing(line) if found else None
            if listing is None or not any(p.sha256 in found for p in listing.photos):
                target.write(line)
                continue
            for photo in listing.photos:
                photo.text = found.get(photo.sha256, photo.text)
            target.write(enrich(listing, reading).model_dump_json() + "\n")
            updated += 1
    return OcrReport(len(queue), len(texts), len(found), unread, updated, time.monotonic() - began)


def _listing(line: str) -> Listing | None:
    try:
        return Listing.model_validate_json(line)
    except (ValidationError, ValueError):
        return None
