"""A crawl stopped midway (SIGINT, as Airflow or a user would) resumes from JOBDIR without refetching pages."""

import time
from pathlib import Path

import pytest

from core.errors import ServiceUnavailable
from core.settings import Settings
from crawlers.run import run_crawl, start_crawl
from listingwatch.demo.marketplaces.sites import start_sites
from tests.plugins.sites import demo_source, read_listings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0


def test_killed_crawl_resumes_fetching_each_page_once(tmp_path: Path, crawl_settings: Settings) -> None:
    with start_sites() as server:
        source = demo_source("classifieds", server)
        # Slow the crawl down so the interrupt lands mid-crawl.
        source = source.model_copy(
            update={
                "politeness": source.politeness.model_copy(update={"concurrency_per_domain": 2, "download_delay": 0.02})
            }
        )
        output, jobdir = tmp_path / "out.jsonl", tmp_path / "job"
        first = start_crawl(source, crawl_settings, output=output, jobdir=jobdir, timeout_s=120)
        deadline = time.monotonic() + 60
        while _lines(output) < 30 and first.popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        first.stop()
        interrupted = first.wait(60)
        assert interrupted.finish_reason == "shutdown"
        assert 30 <= interrupted.listings_written < 200
        assert (jobdir / "requests.seen").exists()

        resumed = run_crawl(source, crawl_settings, output=output, jobdir=jobdir, timeout_s=120)
        assert resumed.finish_reason == "finished"
        assert not jobdir.exists()  # a finished job is cleared so the next scheduled crawl starts fresh

    listings = read_listings(output)
    urls = [item.url for item in listings]
    assert len(urls) == len(set(urls)) == 200
    # Photos are not pages: one whose listing was in flight at the interrupt is fetched again.
    pages = {path: n for path, n in server.hits.items() if path != "/robots.txt" and not path.startswith("/static/")}
    assert set(pages.values()) == {1}, {p: n for p, n in pages.items() if n != 1}
    assert interrupted.pages_fetched + resumed.pages_fetched == len(pages)


def test_site_down_is_a_clear_error(tmp_path: Path, crawl_settings: Settings) -> None:
    with start_sites() as server:
        source = demo_source("classifieds", server)
    # The server is stopped now: its port refuses connections.
    with pytest.raises(ServiceUnavailable, match="no page could be fetched"):
        run_crawl(source, crawl_settings, output=tmp_path / "down.jsonl", timeout_s=60)
