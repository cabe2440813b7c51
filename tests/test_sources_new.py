"""`listingwatch sources new NAME --from URL`: a draft that validates and, on a plain board, already crawls."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from core.errors import ConfigError, ServiceUnavailable
from core.settings import Settings
from crawlers.run import run_crawl
from crawlers.sources import load_source
from listingwatch.cli import app
from listingwatch.demo.marketplaces.sites import SitesServer
from tests.plugins.sites import demo_source, read_listings


@pytest.mark.integration
def test_draft_of_the_classifieds_board_finds_its_listings(
    sites: SitesServer, crawl_settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "board.yaml"
    args = ["sources", "new", "board", "--from", f"{sites.url}/classifieds/", "-o", str(target)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    draft = load_source(target)
    shipped = demo_source("classifieds", sites)
    assert draft.links.listings == shipped.links.listings.model_copy(update={"restrict_css": ["ul.ads"]})
    assert draft.fields.title == shipped.fields.title and draft.fields.price == shipped.fields.price
    report = run_crawl(draft, crawl_settings, output=tmp_path / "board.jsonl", max_pages=12, timeout_s=60)
    listings = read_listings(report.output)
    assert len(listings) >= 8 and all(item.title and item.price is not None for item in listings)


@pytest.mark.integration
def test_json_ld_shops_need_no_fields_and_refusals_are_plain(sites: SitesServer, tmp_path: Path) -> None:
    target = tmp_path / "shop.yaml"
    runner = CliRunner()
    args = ["sources", "new", "shop", "--from", f"{sites.url}/shop/", "-o", str(target)]
    assert runner.invoke(app, args).exit_code == 0
    text = target.read_text(encoding="utf-8")
    assert "JSON-LD" in text and "fields" not in yaml.safe_load(text)
    # Expected failures are ListingwatchErrors (the entry point prints them as one sentence).
    again = runner.invoke(app, args)
    assert isinstance(again.exception, ConfigError) and "--force" in str(again.exception)
    down = runner.invoke(app, ["sources", "new", "gone", "--from", f"{sites.url}/nope/", "-o", str(tmp_path / "g")])
    assert isinstance(down.exception, ServiceUnavailable) and "HTTP 404" in str(down.exception)
