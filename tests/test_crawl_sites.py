"""Each local marketplace site crawled end to end (real HTTP on 127.0.0.1, real chromium for the SPA).

Extracted fields are scored against the generator's truth; the precision/recall table is
printed (run with -s to see it) and each field must stay above a floor.
"""

from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import Settings
from crawlers.run import run_crawl
from listingwatch.demo.marketplaces.sites import SitesServer, start_sites
from tests.crawl_truth import score, table
from tests.plugins.sites import CrawlResult, demo_source

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ALL_FIELDS = ["title", "description", "price", "currency", "seller", "posted_at", "images", "contacts", "crypto"]


@pytest.mark.parametrize(
    ("site", "fields", "count"),
    [
        ("classifieds", ALL_FIELDS, 200),
        ("forum", ["title", "description", "price", "currency", "seller", "posted_at", "contacts", "crypto"], 130),
        ("shop", ["title", "description", "price", "currency", "seller", "posted_at", "images", "contacts"], 100),
    ],
)
def test_http_site_fields_match_truth(
    crawl_demo: Callable[..., CrawlResult], sites: SitesServer, site: str, fields: list[str], count: int
) -> None:
    report, listings = crawl_demo(site)
    assert report.errors == [] and report.finish_reason == "finished"
    assert report.listings_written == len(listings) == count
    assert len({item.url for item in listings}) == count
    scores = score(listings, sites.truth(), fields)
    print("\n" + table(site, scores))
    for s in scores.values():
        assert s.precision >= 0.95 and s.recall >= 0.95, s


def test_each_page_fetched_once(crawl_settings: Settings, tmp_path: Path) -> None:
    # A server of its own: other tests crawl the session's shared sites too, and their hits would count here.
    with start_sites() as server:
        run_crawl(demo_source("classifieds", server), crawl_settings, output=tmp_path / "c.jsonl", timeout_s=120)
    listing_hits = {path: n for path, n in server.hits.items() if path.startswith("/classifieds/item/")}
    assert len(listing_hits) == 200
    assert set(listing_hits.values()) == {1}


def test_spa_needs_the_browser_and_gets_screenshots(crawl_demo: Callable[..., CrawlResult], sites: SitesServer) -> None:
    report, listings = crawl_demo("spa", max_pages=25)
    assert report.errors == []
    assert len(listings) >= 20
    assert all(item.render_mode == "browser" for item in listings)
    scores = score(listings, sites.truth(), ["title", "description", "price", "seller", "posted_at"])
    print("\n" + table("spa", scores))
    for s in scores.values():
        assert s.precision >= 0.95 and s.recall >= 0.95, s
    # Infinite scroll was followed: listings from beyond the first batch of 20 were reached.
    assert sites.hits["/spa/api/listings?offset=20&limit=20"] >= 1
    for item in listings:
        assert item.evidence.screenshot_path and item.evidence.screenshot_sha256


def test_hostile_pages_are_skipped_with_reasons(crawl_demo: Callable[..., CrawlResult], sites: SitesServer) -> None:
    report, listings = crawl_demo("hostile")
    assert report.skipped == {
        "robots_txt": 1,
        "bot_challenge": 1,
        "login_wall": 1,
        "http_500": 1,
        "too_large": 1,
        "redirect_loop": 1,
        "timeout": 1,
    }
    by_path = {item.url.split("/hostile/")[1]: item for item in listings}
    assert set(by_path) == {"broken", "charset", "xss"}
    # Script injection is kept as inert text, never run: the page's own fetch() target was never requested.
    assert by_path["xss"].title is not None and by_path["xss"].title.startswith("<script>")
    assert "/hostile/pwned" not in sites.hits
    assert by_path["broken"].contacts.telegram == ["brokenplug77"]
    assert by_path["charset"].title is not None and "grinder" in by_path["charset"].title
    # robots.txt obeyed: the disallowed page was never requested at all.
    assert "/hostile/private/secret" not in sites.hits
    # The 20 MB page was cut off by DOWNLOAD_MAXSIZE, and the log says why each page was skipped.
    assert report.log_file is not None
    log = report.log_file.read_text()
    for reason in report.skipped:
        assert f": {reason}" in log
    assert all(item.page_kind == "listing" for item in listings)


def test_listings_carry_the_kind_of_place_their_source_names(crawl_demo: Callable[..., CrawlResult]) -> None:
    """The classifier reads the source kind as context: a crawl must hand it on with every listing."""
    _report, listings = crawl_demo("classifieds")
    assert listings
    assert {li.source_kind for li in listings} == {"classifieds"}
