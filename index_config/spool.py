"""A durable on-disk queue for listings that could not reach Elasticsearch.

Each spool write is one segment file of JSON lines (`Listing` records), written to a
temporary name, fsynced, then renamed into place and the directory fsynced: a crash leaves
either a whole segment or none. Segments are named by creation time so replay keeps the
order records arrived in (last_seen then ends on the newest fetch). Replay holds an
exclusive lock so two loaders never drain the same segment twice.
"""

import fcntl
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from listingwatch.settings import Settings

SUFFIX = ".jsonl"


def spool_dir(settings: Settings) -> Path:
    """One spool per index prefix, so a test run never replays another run's records."""
    return settings.var_dir / "spool" / settings.es.index_prefix


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(target: Path, lines: Iterable[str]) -> int:
    tmp = target.with_name(f".tmp-{uuid.uuid4().hex}")
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line)
            fh.write("\n")
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    if count == 0:
        tmp.unlink()
        target.unlink(missing_ok=True)
    else:
        os.replace(tmp, target)
    _fsync_dir(target.parent)
    return count


def append_segment(settings: Settings, lines: Iterable[str]) -> int:
    """Durably add one segment holding `lines`; returns how many were written (0 writes nothing)."""
    directory = spool_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    return _write_atomically(directory / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}{SUFFIX}", lines)


def rewrite_segment(segment: Path, lines: Iterable[str]) -> int:
    """Replace a segment in place (same name, same position in the queue); empty removes it."""
    return _write_atomically(segment, lines)


def segments(settings: Settings) -> list[Path]:
    directory = spool_dir(settings)
    if not directory.exists():
        return []
    return sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))


def read_segment(segment: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) for each non-empty line."""
    with segment.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def pending(settings: Settings) -> int:
    """How many records wait in the spool."""
    return sum(sum(1 for _ in read_segment(s)) for s in segments(settings))


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
