"""Fixtures for the crawl area: the local marketplace sites and a crawl runner against them."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.schema import Classification, Listing
from core.settings import Settings, load_settings
from crawlers.run import CrawlReport, run_crawl
from crawlers.sources import Limits, SourceConfig, load_source
from listingwatch.demo.marketplaces.sites import SitesServer, start_sites

SOURCES_DIR = Path(__file__).resolve().parents[2] / "crawlers" / "sources"


@pytest.fixture(scope="session")
def sites() -> Iterator[SitesServer]:
    """One local marketplace server for the session; demo sources resolve to it via LISTINGWATCH_SITES_URL."""
    with start_sites() as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("LISTINGWATCH_SITES_URL", server.url)
        yield server


@pytest.fixture(scope="session")
def crawl_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose var/ (WARC, screenshots, jobs, logs) is a throwaway directory."""
    return load_settings(var_dir=tmp_path_factory.mktemp("var"))


def demo_source(name: str, server: SitesServer, **changes: object) -> SourceConfig:
    """A shipped demo source pointed at `server`, optionally with top-level fields replaced."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LISTINGWATCH_SITES_URL", server.url)
        source = load_source(SOURCES_DIR / f"{name}.yaml")
    return source.model_copy(update=changes) if changes else source


def read_listings(path: Path) -> list[Listing]:
    with path.open(encoding="utf-8") as fh:
        return [Listing.model_validate(json.loads(line)) for line in fh if line.strip()]


def classify_by_truth(
    listings: list[Listing], sites: SitesServer, relisted: dict[str, str] | None = None
) -> list[Listing]:
    """Classify by the sites' ground truth instead of the model (which has tests of its own), so a test of the
    later stages measures them alone; a relisting (`relisted`: its URL -> the original's) takes the original's."""
    truth = sites.truth()
    for item in listings:
        known = truth.get((relisted or {}).get(item.url, item.url))
        illicit = bool(known and known.illicit)
        item.classification = Classification(
            score=0.95 if illicit else 0.05,
            flagged=illicit,
            threshold=0.5,
            substances=known.substances if known else [],
            scope="synthetic" if illicit else "none",
            model_version="ground-truth-test",
        )
    return listings


def crawl_by_truth(
    sites: SitesServer, settings: Settings, name: str, start: str, out_dir: Path, relisted: dict[str, str] | None = None
) -> list[Listing]:
    """Crawl demo source `name` one level deep from the path `start`, classified by `classify_by_truth`."""
    source = demo_source(name, sites, start_urls=[f"{sites.url}{start}"], limits=Limits(max_depth=1))
    output = out_dir / f"{name}-{abs(hash(start))}.jsonl"
    run_crawl(source, settings, output=output, timeout_s=120)
    return classify_by_truth(read_listings(output), sites, relisted)


CrawlResult = tuple[CrawlReport, list[Listing]]


@pytest.fixture(scope="session")
def crawl_demo(
    sites: SitesServer, crawl_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., CrawlResult]:
    """Crawl a demo source once per session (cached by name and limits) and return (report, listings)."""
    cache: dict[tuple[str, int | None], CrawlResult] = {}

    def crawl(name: str, max_pages: int | None = None) -> CrawlResult:
        key = (name, max_pages)
        if key not in cache:
            output = tmp_path_factory.mktemp(f"crawl-{name}") / f"{name}.jsonl"
            report = run_crawl(
                demo_source(name, sites), crawl_settings, output=output, max_pages=max_pages, timeout_s=120
            )
            cache[key] = (report, read_listings(output))
        return cache[key]

    return crawl
