"""JSON lines of `Listing`, the format every stage hands to the next (reading and writing via `core.jsonl`).

A run's own files are read with the "raise" policy: a damaged line there means the run's
capture is not what was written, so the step stops and names the file and line. Writes
replace the target in one rename, so a task killed mid-write leaves the previous complete
file (or none), never a torn one that a retry or a downstream task would half-read.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

from core import jsonl
from core.errors import ListingwatchError
from core.schema import Listing


def iter_listings(path: Path) -> Iterator[Listing]:
    """Yield listings from a JSONL file, naming the file and line when one is malformed."""
    try:
        for _number, listing in jsonl.read_jsonl(path, Listing.model_validate_json):
            yield listing
    except jsonl.BadLineError as err:
        raise ListingwatchError(f"{err} Delete the run directory and rerun the crawl.") from None


def read_listings(path: Path) -> list[Listing]:
    """All listings in a file; a missing file is an empty list (a crawl that wrote nothing)."""
    return list(iter_listings(path)) if path.exists() else []


def write_listings(path: Path, listings: Iterable[Listing]) -> int:
    """Atomically replace `path` with these listings; returns how many were written."""
    return jsonl.write_models(path, listings)


def write_json_atomic(path: Path, text: str) -> None:
    """Atomically replace a small JSON file (step reports, summaries)."""
    jsonl.write_text(path, text)
