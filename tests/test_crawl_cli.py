"""`listingwatch crawl`: the result table on stdout, paths on whole lines, and `--wacz` packaging the run."""

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from listingwatch.cli import app
from listingwatch.demo.marketplaces.sites import SitesServer

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
