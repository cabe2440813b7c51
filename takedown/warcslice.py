"""Cut one listing's records out of the crawl's WARC files, byte for byte.

Crawl WARCs hold thousands of pages; a platform needs only its listing's request and
response. Each record in a ``.warc.gz`` is its own gzip member, so copying the members'
raw bytes gives a valid WARC whose records are exactly what the crawler wrote (same
WARC-Record-ID, same digest), which a third party can read with any WARC tool.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


@dataclass
class Slice:
    """The raw records for one response record ID, and whether its payload still matches the hash."""

    data: bytes
    records: int
    payload_sha256: str | None


def slice_records(warc_file: Path, record_ids: set[str]) -> dict[str, Slice]:
    """For each response record ID: its request (WARC-Concurrent-To) and response records, in file order.

    One pass over the file serves every listing captured in it; IDs not found are absent.
    """
    ranges: dict[str, list[tuple[int, int]]] = {}
    digests: dict[str, str] = {}
    with Path(warc_file).open("rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            own = record.rec_headers.get_header("WARC-Record-ID")
            concurrent = record.rec_headers.get_header("WARC-Concurrent-To")
            key = own if own in record_ids else concurrent if concurrent in record_ids else None
            if key is not None and record.rec_type == "response":
                digests[key] = hashlib.sha256(record.content_stream().read()).hexdigest()
            iterator.read_to_end()
            if key is not None:
                ranges.setdefault(key, []).append((iterator.get_record_offset(), iterator.get_record_length()))
        out: dict[str, Slice] = {}
        for key, spans in ranges.items():
            parts = []
            for offset, length in spans:
                fh.seek(offset)
                parts.append(fh.read(length))
            out[key] = Slice(b"".join(parts), len(spans), digests.get(key))
    return out
