"""A durable on-disk queue for listings that could not reach Elasticsearch.

Each spool write is one segment file of JSON lines (`Listing` records), written through
`core.jsonl` (temporary name, fsync, rename, directory fsync): a crash leaves either
a whole segment or none. Segments are named by creation time so replay keeps the order
records arrived in (last_seen then ends on the newest fetch). Replay holds an exclusive lock
so two loaders never drain the same segment twice.

A line that cannot be read back (a disk fault, a segment cut short, a hand edit) is never
dropped: replay moves its exact bytes to ``quarantine/<segment name>`` beside the spool and
reports how many, so a person can repair and re-queue them.
"""

import fcntl
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core import jsonl
from core.settings import Settings

SUFFIX = ".jsonl"
QUARANTINE = "quarantine"


def spool_dir(settings: Settings) -> Path:
    """One spool per index prefix, so a test run never replays another run's records."""
    return settings.var_dir / "spool" / settings.es.index_prefix


def quarantine_dir(settings: Settings) -> Path:
    return spool_dir(settings) / QUARANTINE


def append_segment(settings: Settings, lines: Iterable[str]) -> int:
    """Durably add one segment holding `lines`; returns how many were written (0 writes nothing)."""
    directory = spool_dir(settings)
    target = directory / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}{SUFFIX}"
    return jsonl.write_lines(target, lines, remove_if_empty=True)


def rewrite_segment(segment: Path, lines: Iterable[str]) -> int:
    """Replace a segment in place (same name, same position in the queue); empty removes it."""
    return jsonl.write_lines(segment, lines, remove_if_empty=True)


def segments(settings: Settings) -> list[Path]:
    directory = spool_dir(settings)
    if not directory.exists():
        return []
    return sorted(
        p for p in directory.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith(".") and p.is_file()
    )


def read_segment(segment: Path) -> Iterator[tuple[int, str | jsonl.BadLine]]:
    """(line number, line) for each non-empty line; a `BadLine` for one that is not UTF-8 or too long."""
    return jsonl.iter_lines(segment, keep_oversize=True)


def quarantine(settings: Settings, segment: Path, bad: list[jsonl.BadLine]) -> Path:
    """Keep unreadable lines of `segment`, byte for byte, in the quarantine folder; returns the file."""
    target = quarantine_dir(settings) / segment.name
    before = target.read_bytes() if target.exists() else b""
    lines = [b.raw if b.raw.endswith(b"\n") else b.raw + b"\n" for b in bad]
    jsonl.write_bytes(target, before + b"".join(lines))
    return target


def pending(settings: Settings) -> int:
    """How many records wait in the spool (unreadable ones included until a replay quarantines them)."""
    return sum(sum(1 for _ in read_segment(s)) for s in segments(settings))


def quarantined(settings: Settings) -> int:
    """How many unreadable records replay has set aside for a person to repair."""
    directory = quarantine_dir(settings)
    if not directory.is_dir():
        return 0
    return sum(p.read_bytes().count(b"\n") for p in directory.iterdir() if p.is_file())


@contextmanager
def replay_lock(settings: Settings) -> Iterator[None]:
    directory = spool_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
