"""A damaged spool never blocks loading and never loses a record; a full spool disk is one sentence."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.settings import Settings
from index_config import spool
from index_config.loader import load_jsonl, replay_spool
from index_config.manage import listings_alias
from listingwatch.runs.listings_io import write_listings
from listingwatch.runs.paths import RunPaths
from listingwatch.runs.steps import IndexStepReport, index_step
from tests.index_data import as_line, fresh_prefix, listing, write_jsonl

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


def _damaged_segment(settings: Settings) -> tuple[Path, bytes, bytes]:
    """A segment of 4 good records, one cut inside a multi-byte character and one cut inside ASCII."""
    spool.append_segment(settings, [as_line(listing(i, title=f"M30 💊 lot {i}")) for i in range(6)])
    (segment,) = spool.segments(settings)
    lines = segment.read_bytes().splitlines(keepends=True)
    emoji_cut = lines[1][: lines[1].index("💊".encode()) + 2] + b"\n"
    ascii_cut = lines[4][:50] + b"\n"
    segment.write_bytes(b"".join([lines[0], emoji_cut, lines[2], lines[3], ascii_cut, lines[5]]))
    return segment, emoji_cut, ascii_cut


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "LISTINGWATCH_VAR_DIR": str(settings.var_dir),
        "LISTINGWATCH_ES__URL": settings.es.endpoint,
        "LISTINGWATCH_ES__INDEX_PREFIX": settings.es.index_prefix,
        "LISTINGWATCH_ES__REQUEST_TIMEOUT": "5",
    }
    return subprocess.run(
        [sys.executable, "-m", "listingwatch", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_replay_quarantines_unreadable_records_byte_for_byte_and_delivers_the_rest(
    settings: Settings, es_client: Elasticsearch
) -> None:
    segment, emoji_cut, ascii_cut = _damaged_segment(settings)
    assert spool.pending(settings) == 6  # counting a damaged spool (`index stats`) no longer raises

    report = replay_spool(settings, es_client)

    assert report.created == 4 and report.quarantined == 2
    assert {e.line for e in report.errors} == {2, 5}
    assert any("UTF-8" in e.reason for e in report.errors)
    assert spool.segments(settings) == []
    kept = spool.quarantine_dir(settings) / segment.name
    assert kept.read_bytes() == emoji_cut + ascii_cut
    assert spool.quarantined(settings) == 2
    es_client.indices.refresh(index=listings_alias(settings))
    assert es_client.count(index=listings_alias(settings))["count"] == 4


def test_cli_replay_says_how_many_were_quarantined_and_exits_1(settings: Settings) -> None:
    _damaged_segment(settings)
    done = _cli(settings, "index", "replay")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "2 spooled record(s) could not be read back" in " ".join(done.stderr.split())


def test_quarantined_records_count_as_errors_in_the_run_summary(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
) -> None:
    _damaged_segment(settings)
    report = load_jsonl(write_jsonl(tmp_path / "crawl.jsonl", [as_line(listing(10))]), settings, es_client)
    assert report.replay is not None and report.replay.quarantined == 2 and report.created == 1
    # The pipeline's index step turns the same report into the numbers the run summary shows.
    _damaged_segment(settings)
    paths = RunPaths("market", "run-1", tmp_path / "run")
    write_listings(paths.classified, [listing(11)])
    step = index_step(settings, paths)
    assert isinstance(step, IndexStepReport)
    assert step.quarantined == 2 and step.errors == 2 and step.error_samples


_FULL_DISK = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
sys.argv = ["listingwatch", *sys.argv[1:]]
runpy.run_module("listingwatch", run_name="__main__")
"""


def test_a_full_spool_disk_is_one_sentence_keeps_the_input_and_leaves_no_temp_file(
    settings: Settings, tmp_path: Path, closed_port_url: str
) -> None:
    path = write_jsonl(tmp_path / "crawl.jsonl", [as_line(listing(i)) for i in range(5)])
    before = path.read_bytes()
    env = {
        "PATH": "/usr/bin:/bin",
        "LISTINGWATCH_VAR_DIR": str(settings.var_dir),
        "LISTINGWATCH_ES__URL": closed_port_url,
        "LISTINGWATCH_ES__INDEX_PREFIX": settings.es.index_prefix,
        "LISTINGWATCH_ES__REQUEST_TIMEOUT": "2",
    }
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, "index", "load", str(path)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: Could not write ")
    assert "free disk space" in done.stderr
    assert path.read_bytes() == before
    leftovers = [p for p in spool.spool_dir(settings).rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == [] and spool.pending(settings) == 0
