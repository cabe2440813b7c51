"""`listingwatch crawl`: the result table on stdout, paths on whole lines, `--wacz` packaging the run, an exact
`--max-pages`, a fresh crawl unless `--resume`, and warnings for a crawl that quietly gets nothing."""

import re
import zipfile
from pathlib import Path

import pytest
from click.testing import Result
from scrapy import Request
from typer.testing import CliRunner

from core.settings import Settings, get_settings
from crawlers.fingerprint import CanonicalFingerprinter
from crawlers.run import run_crawl
from listingwatch.cli import app
from listingwatch.demo.marketplaces.sites import SitesServer
from tests.plugins.sites import SOURCES_DIR, demo_source

pytestmark = [pytest.mark.integration]


def test_crawl_prints_whole_paths_and_packages_a_wacz(
    sites: SitesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(tmp_path / "a-long-directory-name-so-paths-pass-80-columns" / "var"))
    output = tmp_path / "run.jsonl"
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["crawl", "classifieds", "--max-pages", "4", "--no-resume", "--wacz", "-o", str(output)],
            env={"COLUMNS": "80"},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"output: {output}" in lines and f"wacz: {output.with_suffix('.wacz')}" in lines
    assert any(line.startswith("warc: ") and line.endswith(".warc.gz") for line in lines)
    assert "listings written" in result.stdout
    assert "datapackage.json" in zipfile.ZipFile(output.with_suffix(".wacz")).namelist()


def _invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    finally:
        get_settings.cache_clear()


def test_max_pages_is_exact(sites: SitesServer, crawl_settings: Settings, tmp_path: Path) -> None:
    report = run_crawl(demo_source("classifieds", sites), crawl_settings, output=tmp_path / "c.jsonl", max_pages=7)
    assert report.pages_fetched == 7  # Scrapy's page-count close alone fetched every request already in flight
    assert report.listings_written == 6 and report.skipped.get("max_pages", 0) >= 1


def test_a_crawl_is_fresh_unless_resumed(sites: SitesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stopped crawl's state that has seen the start page: resumed, the crawl would fetch nothing.
    jobdir = tmp_path / "var" / "jobs" / "classifieds"
    jobdir.mkdir(parents=True)
    start = demo_source("classifieds", sites).start_urls[0]
    (jobdir / "requests.seen").write_text(CanonicalFingerprinter().fingerprint(Request(start)).hex() + "\n")
    planned = _invoke(tmp_path, monkeypatch, "crawl", "classifieds", "--resume", "--dry-run")
    assert "resumed: continues the stopped crawl" in planned.output
    fresh = _invoke(tmp_path, monkeypatch, "crawl", "classifieds", "--max-pages", "3", "-o", str(tmp_path / "f.jsonl"))
    assert fresh.exit_code == 0, fresh.output
    assert re.search(r"mode\s+│\s+fresh", fresh.stdout) and re.search(r"listings written\s+│\s+2", fresh.stdout)


def test_no_pagination_and_no_listings_are_warned(
    sites: SitesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "quiet.yaml"
    text = (SOURCES_DIR / "classifieds.yaml").read_text(encoding="utf-8")
    text = text.replace("name: classifieds", "name: quiet").replace("/classifieds/item/", "/nowhere/")
    source.write_text(re.sub(r"\n  next_pages:.*", "", text), encoding="utf-8")
    result = _invoke(tmp_path, monkeypatch, "crawl", str(source), "-o", str(tmp_path / "q.jsonl"))
    assert result.exit_code == 0, result.output
    assert "warning: links.next_pages is not set for quiet" in result.stderr
    assert "warning: the crawl of quiet wrote 0 listings from 1 page(s)" in result.stderr
