"""Evidence: WARC records read back with warcio, hashes re-verified; screenshots re-hashed; rotation by size."""

import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawlers.evidence import WarcWriter
from tests.plugins.sites import CrawlResult

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_listing_points_at_its_warc_record(crawl_demo: Callable[..., CrawlResult]) -> None:
    report, listings = crawl_demo("classifieds")
    assert report.warc_files and all(p.exists() for p in report.warc_files)
    for item in listings:
        ev = item.evidence
        assert ev.warc_file and ev.warc_offset is not None and ev.body_sha256 and ev.captured_at
        with open(ev.warc_file, "rb") as fh:
            fh.seek(ev.warc_offset)
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Record-ID") == ev.warc_record_id
            assert record.rec_headers.get_header("WARC-Target-URI") == item.url
            assert hashlib.sha256(record.content_stream().read()).hexdigest() == ev.body_sha256
        assert abs((ev.captured_at - item.fetched_at).total_seconds()) < 1


def test_warc_pairs_requests_with_responses(crawl_demo: Callable[..., CrawlResult]) -> None:
    report, _ = crawl_demo("classifieds")
    responses: dict[str, str] = {}
    requests: dict[str, str] = {}
    for path in report.warc_files:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                assert record.rec_headers.get_header("WARC-Date").endswith("Z")
                if record.rec_type == "response":
                    responses[record.rec_headers.get_header("WARC-Record-ID")] = uri
                elif record.rec_type == "request":
                    requests[record.rec_headers.get_header("WARC-Concurrent-To")] = uri
    assert report.pages_fetched <= len(responses)
    assert requests == responses


def test_screenshots_match_their_hash(crawl_demo: Callable[..., CrawlResult]) -> None:
    _, listings = crawl_demo("spa", max_pages=25)
    for item in listings:
        png = Path(item.evidence.screenshot_path or "").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert hashlib.sha256(png).hexdigest() == item.evidence.screenshot_sha256


def test_warc_files_rotate_by_size(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, "rot", max_bytes=4096)
    captures = [
        writer.capture(
            url=f"http://x.test/item/{n}",
            method="GET",
            request_headers=[("Host", "x.test")],
            request_body=b"",
            status=200,
            response_headers=[("Content-Type", "text/html")],
            body=random.Random(n).randbytes(3000),
        )
        for n in range(6)
    ]
    writer.close()
    assert len(writer.files) >= 3
    assert {c.warc_file for c in captures} == set(writer.files)
    for capture in captures:
        with capture.warc_file.open("rb") as fh:
            fh.seek(capture.offset)
            record = next(iter(ArchiveIterator(fh)))
            assert hashlib.sha256(record.content_stream().read()).hexdigest() == capture.body_sha256
