"""`core.jsonl`: one bad-line policy for every reader, atomic writes that survive a full or read-only disk."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import ValidationError

from core import jsonl
from core.schema import Listing

GOOD = Listing(url="https://m.example/1", source="s", platform="p", title="M30 blues").model_dump_json()


def _read(path: Path) -> tuple[list[int], list[jsonl.BadLine]]:
    bad: list[jsonl.BadLine] = []
    good = [n for n, _ in jsonl.read_jsonl(path, Listing.model_validate_json, on_bad=bad.append, max_line_bytes=4096)]
    return good, bad


def test_every_kind_of_bad_line_is_reported_by_number_with_its_bytes(tmp_path: Path) -> None:
    cut_inside_character = GOOD.replace("M30", "M30 💊").encode()[: GOOD.encode().index(b"M30") + 5]
    lines = [
        GOOD.encode(),
        cut_inside_character,  # a segment cut in the middle of a multi-byte character
        b'{"url": "https://m.example/2", "source": "s", "platform": "p", "title": "caf\xe9"}',  # Latin-1
        b"{not json",
        json.dumps({"url": "ftp://x", "source": "s", "platform": "p"}).encode(),
        b"x" * 10_000,
        b"",
        b"[1, 2]",
        GOOD.encode(),
    ]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    good, bad = _read(path)
    assert good == [1, 9]
    assert [b.line for b in bad] == [2, 3, 4, 5, 6, 8]
    reasons = [b.reason for b in bad]
    assert "UTF-8" in reasons[0] and "UTF-8" in reasons[1]
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3].startswith("url:")
    assert "longer than 4096 bytes" in reasons[4]
    assert bad[0].raw == cut_inside_character + b"\n"  # kept as found, for quarantine
    assert bad[1].raw.startswith(lines[2])


def test_raise_policy_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(GOOD.encode() + b"\n" + b"\xff\xfe\n")
    with pytest.raises(jsonl.BadLineError, match=r"run\.jsonl line 2 .*UTF-8"):
        list(jsonl.read_jsonl(path, Listing.model_validate_json))


def test_every_problem_can_be_listed_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        Listing.model_validate({"url": "ftp://x", "source": 1})
    assert "(and 2 more problem(s))" in jsonl.describe_validation_error(info.value)
    every = jsonl.describe_validation_error(info.value, every=True)
    assert every.count(";") == 2 and "platform" in every and "url" in every


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    jsonl.write_lines(target, ["old"])

    def lines() -> Iterator[str]:
        yield "new"
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        jsonl.write_lines(target, lines())
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


_FULL_DISK = """
import resource, signal, sys
from core import jsonl
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    jsonl.write_lines(sys.argv[1], ("x" * 100 for _ in range(1000)))
except jsonl.DiskWriteError as err:
    print(err)
"""


def test_a_full_disk_is_one_sentence_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(target)], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.startswith(f"Could not write {target} (File too large)")
    assert "unchanged" in done.stdout and "Traceback" not in done.stderr
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


@contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """A directory no write can reach: a read-only tmpfs for root (which ignores modes), else mode 0o555."""
    path.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)]).returncode:
            pytest.skip("running as root without permission to mount a read-only tmpfs")
        try:
            yield path
        finally:
            subprocess.run(["umount", str(path)], check=True)
    else:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)


def test_a_read_only_disk_is_one_sentence(tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "ro") as directory:
        with pytest.raises(jsonl.DiskWriteError, match=r"Could not write .*out\.jsonl \(Read-only file system|Perm"):
            jsonl.write_lines(directory / "out.jsonl", ["x"])
        assert list(directory.iterdir()) == []
