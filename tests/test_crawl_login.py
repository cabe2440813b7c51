"""Login-gated sources: log in, keep the session, log in again at a login wall, never leak the credentials.

The members forum (listingwatch/demo/marketplaces/members.py) expires a session after a few listing
pages, so a full crawl meets the login wall midway. Credentials come from the environment;
their raw and URL-encoded spellings must appear in no WARC record, log, output or error.
"""

import gzip
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.schema import Listing
from core.settings import Settings
from crawlers.login import Credentials, LoginError, load_credentials
from crawlers.run import CrawlReport, run_crawl
from listingwatch.demo.marketplaces.expiring import COUNT as BOARD_COUNT
from listingwatch.demo.marketplaces.members import COUNT
from listingwatch.demo.marketplaces.members_only import PASSWORD, USERNAME
from listingwatch.demo.marketplaces.sites import SitesServer, start_sites
from listingwatch.runs.summary import RunSummary, describe
from tests.plugins.sites import demo_source, read_listings

SECRETS = Credentials(USERNAME, PASSWORD).secrets()


@pytest.fixture
def gated_sites(monkeypatch: pytest.MonkeyPatch) -> Iterator[SitesServer]:
    """The demo sites, with the credentials of the members forum and the board in the environment."""
    with start_sites() as server:
        for site in ("MEMBERS", "BOARD"):
            monkeypatch.setenv(f"LISTINGWATCH_{site}_USERNAME", USERNAME)
            monkeypatch.setenv(f"LISTINGWATCH_{site}_PASSWORD", PASSWORD)
        yield server


GatedCrawl = Callable[[str], tuple[CrawlReport, list[Listing]]]


@pytest.fixture(params=["http", "browser"])
def crawl_gated(
    request: pytest.FixtureRequest, gated_sites: SitesServer, crawl_settings: Settings, tmp_path: Path
) -> GatedCrawl:
    """Crawls a demo source in each render mode (http, browser): its report and the listings it wrote."""
    render = request.param

    def crawl(name: str) -> tuple[CrawlReport, list[Listing]]:
        source = demo_source(name, gated_sites).model_copy(update={"render": render, "name": f"{name}-{render}"})
        report = run_crawl(source, crawl_settings, output=tmp_path / f"{name}.jsonl", timeout_s=120)
        return report, read_listings(report.output)

    return crawl


def _leaks(report: CrawlReport) -> list[str]:
    """Files of this crawl (WARC decompressed, log, JSONL) and its errors that contain a credential."""
    texts = {str(p): gzip.decompress(p.read_bytes()) for p in report.warc_files}
    for path in (report.log_file, report.output):
        if path and Path(path).exists():
            texts[str(path)] = Path(path).read_bytes()
    texts["errors"] = "\n".join(report.errors).encode()
    return [name for name, data in texts.items() for secret in SECRETS if secret in data]


@pytest.mark.integration
@pytest.mark.slow
def test_logs_in_and_again_at_the_wall_without_leaking(gated_sites: SitesServer, crawl_gated: GatedCrawl) -> None:
    report, listings = crawl_gated("members")
    assert report.errors == [] and report.skipped == {}
    assert len({item.url for item in listings}) == COUNT
    assert all(item.title and item.description for item in listings)
    assert gated_sites.members.logins >= 2  # the session expired midway and the crawler logged in again
    assert any(PASSWORD.replace(" ", "+").replace("&", "%26").encode() in body for body in gated_sites.members.posted)
    assert _leaks(report) == []


@pytest.mark.integration
def test_a_refused_login_is_a_clear_error_with_the_password_scrubbed(
    gated_sites: SitesServer, crawl_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTINGWATCH_MEMBERS_PASSWORD", PASSWORD + " typo")
    source = demo_source("members", gated_sites).model_copy(update={"name": "members-refused"})
    report = run_crawl(source, crawl_settings, output=tmp_path / "refused.jsonl", timeout_s=60)
    assert report.listings_written == 0
    assert len(report.errors) == 1 and "check the credentials (env:LISTINGWATCH_MEMBERS)" in report.errors[0]
    # The refused POST (answered 200, so archived) is in the WARC with its credentials blanked.
    warc = b"".join(gzip.decompress(p.read_bytes()) for p in report.warc_files)
    assert b"POST /members/login" in warc and b"pw=%3Credacted%3E" not in warc and b"<redacted>" in warc
    assert _leaks(report) == [] and not any(b"typo" in gzip.decompress(p.read_bytes()) for p in report.warc_files)


def test_credentials_come_from_the_environment_or_a_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_USERNAME", raising=False)
    monkeypatch.setenv("SHOP_PASSWORD", "hunter2")
    with pytest.raises(LoginError, match="set SHOP_USERNAME in the environment") as err:
        load_credentials("env:SHOP", "shop")
    assert "hunter2" not in str(err.value)
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("shop: {username: ann, password: 'p@ss word'}\n", encoding="utf-8")
    creds = load_credentials(f"file:{secrets}#shop", "shop")
    assert (creds.username, creds.password) == ("ann", "p@ss word") and "p@ss" not in repr(creds)
    with pytest.raises(LoginError, match="has no entry 'forum'"):
        load_credentials(f"file:{secrets}#forum", "forum")


@pytest.mark.integration
@pytest.mark.slow
def test_a_session_that_expires_every_few_pages_still_gets_every_listing(
    gated_sites: SitesServer, crawl_gated: GatedCrawl
) -> None:
    # Every expired page redirects to the one login URL: followed, the second such redirect would be
    # dropped by the dupefilter as already seen, and its page lost.
    report, listings = crawl_gated("board")
    assert report.errors == [] and report.lost == 0 and report.skipped == {}
    assert sorted(item.url for item in listings) == sorted(
        f"{gated_sites.url}/board/t/{n}" for n in range(1, BOARD_COUNT + 1)
    )
    assert all(item.title and item.description and item.seller.name for item in listings)
    assert gated_sites.board.logins >= 3
    assert _leaks(report) == []


@pytest.mark.integration
def test_pages_behind_a_wall_that_never_lifts_are_counted_as_lost(
    gated_sites: SitesServer, crawl_settings: Settings, tmp_path: Path
) -> None:
    gated_sites.board.session_pages = 1  # the page the login redirects to uses the whole session up
    source = demo_source("board", gated_sites)
    source = source.model_copy(
        update={"name": "board-walled", "login": source.login.model_copy(update={"max_relogins": 2})}
    )
    report = run_crawl(source, crawl_settings, output=tmp_path / "walled.jsonl", timeout_s=60)
    assert report.listings_written == 0
    assert report.lost == 1 and report.lost_urls == [f"{gated_sites.url}/board/"]
    assert report.skipped == {"login_wall": 1}  # sent again after each re-login, max_relogins times
    assert any("lost behind the login wall" in warning for warning in report.warnings)
    assert gated_sites.board.logins == 3  # the first login and two re-logins, no more


def test_the_run_summary_names_lost_pages() -> None:
    summary = RunSummary(source="board", run_key="k", finished_at=datetime.now(UTC), pages_lost=4)
    assert "LOST 4 page(s) behind the login wall" in describe(summary)
