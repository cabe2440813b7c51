"""Reading a capture back: a confined screenshot or WARC path, one WARC response record.

Paths come from the listing document, so they are only followed inside the settings' var
directory (where the crawler writes them); anything else is refused rather than read. The web app,
the listing view and takedown packets all read evidence through here.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from core.settings import Settings

MAX_RECORD_BYTES = 200 * 1024 * 1024


def evidence_path(settings: Settings, stored: object, suffixes: tuple[str, ...]) -> Path | None:
    """The stored path if it names an existing file under var/ with an expected suffix, else None."""
    return confined_path(settings.var_dir, stored, suffixes)


def confined_path(root: Path, stored: object, suffixes: tuple[str, ...]) -> Path | None:
    """`stored` (relative to `root`, or absolute) if it resolves, links followed, to a file inside `root`."""
    if not isinstance(stored, str) or not stored:
        return None
    path = Path(stored)
    if not path.is_absolute():
        path = root / path
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root.resolve()) or not path.is_file() or not path.name.endswith(suffixes):
        return None
    return path


@dataclass(frozen=True)
class WarcRecord:
    """One response record: its bytes exactly as stored in the file, and its payload's SHA-256."""

    raw: bytes
    target_uri: str | None
    warc_date: str | None
    record_id: str | None
    payload_sha256: str


def read_record(path: Path, offset: int) -> WarcRecord | None:
    """The record starting at `offset` (a gzip member of its own in the crawler's files), or None."""
    with path.open("rb") as fh:
        fh.seek(offset)
        iterator = ArchiveIterator(fh)
        record = next(iter(iterator), None)
        if record is None:
            return None
        payload = record.content_stream().read(MAX_RECORD_BYTES)
        headers = record.rec_headers
        meta = (
            headers.get_header("WARC-Target-URI"),
            headers.get_header("WARC-Date"),
            headers.get_header("WARC-Record-ID"),
        )
        iterator.read_to_end(record)
        length = iterator.get_record_length()
    if not length or length > MAX_RECORD_BYTES:
        return None
    with path.open("rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    return WarcRecord(raw, *meta, payload_sha256=hashlib.sha256(payload).hexdigest())


def read_payload(path: Path, offset: int, max_bytes: int) -> tuple[str | None, bytes] | None:
    """(WARC-Target-URI, payload) of the response record at `offset`; None if none, or over `max_bytes`."""
    with path.open("rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)), None)
        if record is None or record.rec_type != "response":
            return None
        payload = record.content_stream().read(max_bytes + 1)
        target = record.rec_headers.get_header("WARC-Target-URI")
    return None if len(payload) > max_bytes else (target, payload)
