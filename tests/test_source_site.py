"""A source's `site:` key: the local sites share one host:port, yet each must be a site of its own.

Without the key a listing's site is its URL's host (with port), so every demo site was
``127.0.0.1:8700`` and the site facet told nothing apart.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings
from crawlers.run import run_crawl
from crawlers.sources import SourceConfig, load_sources
from listingwatch.demo.marketplaces.sites import SitesServer
from tests.plugins.sites import SOURCES_DIR, CrawlResult, demo_source, read_listings

MINIMAL = {
    "name": "board",
    "platform": "Board Inc.",
    "start_urls": ["https://board.example/ads/"],
    "allowed_domains": ["board.example"],
    "links": {"listings": {"allow": ["/ads/item/\\d+$"]}},
}


def test_every_shipped_source_names_a_site_of_its_own() -> None:
    sources = load_sources(SOURCES_DIR)
    configs = [config for config in sources.values() if isinstance(config, SourceConfig)]
    assert len(configs) == len(sources)  # every shipped file loads
    assert None not in {c.site for c in configs}
    # One site per platform: two sources reading one shop (its pages, its JSON API) name the same site.
    site_of_platform = {c.platform: c.site for c in configs}
    assert len(set(site_of_platform.values())) == len(site_of_platform), site_of_platform
    assert all(site_of_platform[c.platform] == c.site for c in configs)


def test_site_is_read_in_lower_case_as_searches_read_it() -> None:
    assert SourceConfig.model_validate({**MINIMAL, "site": " Market-Mirrors "}).site == "market-mirrors"
    assert SourceConfig.model_validate(MINIMAL).site is None


@pytest.mark.parametrize("bad", ["two words", "market.example/ads", "", "-lead"])
def test_a_site_a_search_could_not_carry_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="must be one word"):
        SourceConfig.model_validate({**MINIMAL, "site": bad})


def test_crawled_listings_carry_the_source_site_and_else_the_host(
    crawl_demo: Callable[..., CrawlResult], sites: SitesServer, crawl_settings: Settings, tmp_path: Path
) -> None:
    _report, listings = crawl_demo("classifieds", max_pages=3)
    assert listings
    assert {li.site for li in listings} == {"local-classifieds"}

    unnamed = demo_source("classifieds", sites).model_copy(update={"site": None, "name": "classifieds-unnamed"})
    output = tmp_path / "unnamed.jsonl"
    run_crawl(unnamed, crawl_settings, output=output, max_pages=3, timeout_s=120)
    host = sites.url.removeprefix("http://").rstrip("/")
    assert {li.site for li in read_listings(output)} == {host}
