"""JSON lines of `Listing`, the format every stage hands to the next.

Writes go to a temporary file that replaces the target in one rename, so a task killed
mid-write leaves the previous complete file (or none), never a torn one that a retry or a
downstream task would half-read.
"""

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from listingwatch.errors import ListingwatchError
from listingwatch.schema import Listing


def iter_listings(path: Path) -> Iterator[Listing]:
    """Yield listings from a JSONL file, naming the file and line when one is malformed."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield Listing.model_validate_json(line)
            except ValueError as err:
                raise ListingwatchError(
                    f"{path} line {number} is not a valid listing ({str(err).splitlines()[0]}); "
                    "delete the run directory and rerun the crawl."
                ) from None


def read_listings(path: Path) -> list[Listing]:
    """All listings in a file; a missing file is an empty list (a crawl that wrote nothing)."""
    return list(iter_listings(path)) if path.exists() else []


def write_listings(path: Path, listings: Iterable[Listing]) -> int:
    """Atomically replace `path` with these listings; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for listing in listings:
                fh.write(listing.model_dump_json(exclude_none=False))
                fh.write("\n")
                count += 1
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def write_json_atomic(path: Path, text: str) -> None:
    """Atomically replace a small JSON file (step reports, summaries)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
