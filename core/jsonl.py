"""JSON lines on disk: one reader with a chosen bad-line policy, one atomic writer, one way to word a bad record.

Every stage hands the next a JSONL file (crawl -> classify -> index, the spool, run
reports), so how a damaged line is treated must not depend on which command met it:

* A line is bad when it is longer than `MAX_LINE_BYTES`, is not valid UTF-8, is not JSON,
  or does not validate. The caller picks the policy: raise at the first one (a file this
  project wrote itself, where damage means the run must be redone), or skip and report it
  with its line number and raw bytes (user input, the spool) so the caller can count,
  print or quarantine it. Nothing is replaced silently.
* Writes go to a temporary file in the target's directory, are fsynced, renamed over the
  target and the directory fsynced: a crash or a full disk leaves the previous complete
  file (or none), never a torn one, and the temporary file is always removed.
"""

import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from core.errors import ListingwatchError

MAX_LINE_BYTES = 4 * 1024 * 1024

T = TypeVar("T")

# Write failures that mean "the disk, not the program": said as one sentence, never a traceback.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO})


@dataclass(frozen=True)
class BadLine:
    """A line that was not a valid record: where, why, and its bytes (to quarantine rather than lose them)."""

    line: int
    reason: str
    raw: bytes = b""


class BadLineError(ListingwatchError):
    """A file that must be whole (one this project wrote) has a bad line."""


class DiskWriteError(ListingwatchError):
    """A file could not be written: the disk is full, read-only or not ours to write."""


def _problem(error: Any) -> str:
    if error["type"] == "json_invalid":
        return f"invalid JSON ({error.get('ctx', {}).get('error', error['msg'])})"
    where = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":  # pydantic says "Extra inputs are not permitted"
        return f"{where}: not a known key (misspelt, or in the wrong section?)"
    msg = error["msg"]
    if error["type"] == "value_error":  # our own validators' sentences, without pydantic's "Value error, "
        msg = str(error.get("ctx", {}).get("error", msg))
    return f"{where}: {msg}" if where else str(msg)


def validation_problems(err: ValidationError) -> list[str]:
    """Each problem of a pydantic error as ``field.path: message``."""
    return [_problem(p) for p in err.errors()]


def describe_validation_error(err: ValidationError, *, every: bool = False) -> str:
    """One plain phrase for a pydantic error: the first problem and how many more, or with `every` all of them."""
    problems = err.errors()
    if every:
        return "; ".join(validation_problems(err))
    text = _problem(problems[0])
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more problem(s))"
    return text


def iter_lines(
    path: Path, *, max_line_bytes: int = MAX_LINE_BYTES, keep_oversize: bool = False
) -> Iterator[tuple[int, str | BadLine]]:
    """(line number, text) for each non-blank line, or (line number, `BadLine`) if it is oversize or not UTF-8.

    Reads bytes so an undecodable line is one bad line, not an exception that stops the file.
    An oversize line's `raw` holds its first 200 bytes, or all of it with `keep_oversize`
    (for files whose every byte must be kept, such as the spool).
    """
    with Path(path).open("rb") as fh:
        number = 0
        while raw := fh.readline(max_line_bytes + 1):
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                kept = [raw] if keep_oversize else [raw[:200]]
                while rest := fh.readline(1 << 20):
                    if keep_oversize:
                        kept.append(rest)
                    if rest.endswith(b"\n"):
                        break
                yield number, BadLine(number, f"line longer than {max_line_bytes} bytes", b"".join(kept))
                continue
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                yield number, BadLine(number, f"not valid UTF-8 (byte {err.start} of the line)", raw)
                continue
            yield number, text


def count_lines(path: Path) -> int:
    """Lines written so far to a file another process is still writing (0 before it exists): progress only."""
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


def read_jsonl(
    path: Path,
    parse: Callable[[str], T],
    *,
    on_bad: Callable[[BadLine], None] | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    keep_oversize: bool = False,
) -> Iterator[tuple[int, T]]:
    """(line number, record) for each good line, parsed by `parse` (e.g. ``Listing.model_validate_json``).

    Bad-line policy: with `on_bad`, each bad line is handed to it and reading goes on (skip
    and report); without, the first bad line raises `BadLineError` naming the file and line.
    """
    for number, item in iter_lines(path, max_line_bytes=max_line_bytes, keep_oversize=keep_oversize):
        if isinstance(item, str):
            try:
                yield number, parse(item)
                continue
            except ValidationError as err:
                item = BadLine(number, describe_validation_error(err), item.encode("utf-8"))
            except ValueError as err:
                item = BadLine(number, f"invalid JSON ({err})", item.encode("utf-8"))
        if on_bad is None:
            raise BadLineError(f"{path} line {number} is not a valid record ({item.reason}).")
        on_bad(item)


def parse_object(text: str) -> dict[str, Any]:
    """A line that must hold one JSON object (for readers that keep fields they do not know).

    Parsed by pydantic-core, which bounds nesting depth: ``[[[[...`` fifty thousand deep is a
    bad line, not a RecursionError.
    """
    value = from_json(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_error(path: Path, err: OSError) -> DiskWriteError:
    return DiskWriteError(
        f"Could not write {path} ({err.strerror or err}); free disk space or make {path.parent} writable "
        "and rerun: the input and any earlier copy of this file are unchanged."
    )


@contextmanager
def _atomic_file(path: Path, mode: str) -> Iterator[IO[Any]]:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        if err.errno in _DISK_ERRNOS:
            raise _disk_error(path, err) from None
        raise
    tmp = Path(name)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        # Only errors on this file are about the disk; one opening another file (the input) is the caller's.
        if err.errno in _DISK_ERRNOS and err.filename in (None, name, str(path)):
            raise _disk_error(path, err) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text file handle whose contents replace `path` only if the block finishes; fsynced, temp removed on error."""
    with _atomic_file(path, "w") as fh:
        yield fh


def write_bytes(path: Path, data: bytes) -> None:
    """Atomically replace `path` with these exact bytes (kept as found, e.g. quarantined lines)."""
    with _atomic_file(path, "wb") as fh:
        fh.write(data)


def write_lines(path: Path, lines: Iterable[str], *, remove_if_empty: bool = False) -> int:
    """Atomically replace `path` with one line per string; returns how many were written.

    With `remove_if_empty`, writing nothing removes `path` instead of leaving an empty file.
    """
    count = 0
    with atomic_writer(path) as fh:
        for line in lines:
            fh.write(line)
            fh.write("\n")
            count += 1
    if remove_if_empty and count == 0:
        Path(path).unlink(missing_ok=True)
    return count


def write_models(path: Path, records: Iterable[BaseModel]) -> int:
    """Atomically replace `path` with one JSON record per line."""
    return write_lines(path, (r.model_dump_json() for r in records))


def write_text(path: Path, text: str) -> None:
    """Atomically replace a small file (reports, summaries, markers)."""
    with atomic_writer(path) as fh:
        fh.write(text)
