"""A channel feed (Telegram web preview shape): every post a listing with its own stable ID, paged backwards."""

from collections.abc import Callable
from pathlib import Path

import pytest
from parsel import Selector
from typer.testing import CliRunner

from core.schema import Listing
from core.urls import listing_id
from crawlers.extract.fields import extract_fields, select_text
from crawlers.sources import load_source
from listingwatch.cli import app
from listingwatch.demo.marketplaces.channel import CHANNEL, COUNT, POSTS, TEMPLATE, feed_page
from listingwatch.demo.marketplaces.sites import SitesServer
from tests.plugins.sites import SOURCES_DIR, CrawlResult


def _by_post(listings: list[Listing], base: str) -> dict[int, Listing]:
    prefix = f"{base}/channel/{CHANNEL}/"
    assert all(item.url.startswith(prefix) for item in listings)
    return {int(item.url.removeprefix(prefix)): item for item in listings}


@pytest.mark.integration
@pytest.mark.slow
def test_every_post_is_a_listing(crawl_demo: Callable[..., CrawlResult], sites: SitesServer) -> None:
    report, listings = crawl_demo("channel")
    assert report.errors == [] and report.finish_reason == "finished"
    posts = _by_post(listings, sites.url)
    assert sorted(posts) == list(range(1, COUNT + 1))  # the pin notice is not a post; overlaps not repeated
    assert sites.hits[f"/channel/s/{CHANNEL}?before=6"] == 1  # paged backwards to the oldest posts
    for post in POSTS:
        item = posts[post.id]
        assert item.id == listing_id(f"{sites.url}{post.link}")
        assert item.description and item.description.replace(" ", "") == post.text.replace("\n", "").replace(" ", "")
        assert item.title and item.description.startswith(item.title)
        assert item.posted_at == post.posted_at
        assert len(item.photos) == post.photos and all(p.phash for p in item.photos)
        assert item.seller.name == "💊 Plug Menu 24/7 🔥"
        assert item.seller.profile_url == f"{sites.url}/channel/{CHANNEL}"
    menu = posts[3].description or ""
    assert "📌 MENU 📌" in menu and "c0ke" in menu and posts[3].contacts.telegram == ["plugmenu_support"]
    assert any("x@n@x" in (item.description or "") for item in listings)


@pytest.mark.integration
@pytest.mark.slow
def test_post_ids_are_stable_across_crawls(crawl_demo: Callable[..., CrawlResult]) -> None:
    _, first = crawl_demo("channel")
    _, again = crawl_demo("channel", max_pages=2)  # a later, shorter crawl sees the newest posts again
    assert {item.id for item in again} <= {item.id for item in first}
    assert len({item.id for item in again}) == len(again) > 0


def test_the_template_reads_the_saved_structure_of_the_real_page() -> None:
    """channel.yaml against the saved t.me/s structure: one post (not the service message), its seller from
    the ``a > span`` owner name, its own link, date, photo and the "more" link; the local site uses the same classes."""
    source = load_source(SOURCES_DIR / "channel.yaml")
    assert source.feed is not None and source.links.next_pages is not None
    saved = TEMPLATE.read_text(encoding="utf-8")
    page = Selector(text=saved)
    posts = page.css(source.feed.item)
    assert len(posts) == 1
    assert select_text(posts[0], source.feed.link) == "https://t.me/CHANNEL/POST_ID"
    fields = extract_fields(posts[0].get(), "https://t.me/s/CHANNEL", source.fields)
    assert fields.seller == "CHANNEL_TITLE" and fields.seller_url == "https://t.me/CHANNEL"
    assert fields.description == "POST_TEXT" and fields.images == ["PHOTO_URL"]
    assert select_text(posts[0], source.fields.posted_at or "") == "POST_DATETIME"
    assert page.css(source.links.next_pages.restrict_css[0]).attrib["href"] == "/s/CHANNEL?before=POST_ID"
    built = Selector(text=feed_page(None))
    classes = {c for value in built.xpath("//@class").getall() for c in value.split() if not c[0].isdigit()}
    assert classes <= {c for value in page.xpath("//@class").getall() for c in value.split()}  # photo ids aside


@pytest.mark.integration
def test_sources_new_drafts_a_feed_for_a_channel_preview(sites: SitesServer, tmp_path: Path) -> None:
    target = tmp_path / "plugs.yaml"
    result = CliRunner().invoke(
        app, ["sources", "new", "x", "--from", f"{sites.url}/channel/s/{CHANNEL}", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    draft, shipped = load_source(target), load_source(SOURCES_DIR / "channel.yaml")
    assert draft.name == "plugs" and draft.kind == "channel"
    assert (draft.feed, draft.fields, draft.links) == (shipped.feed, shipped.fields, shipped.links)
    assert draft.platform.startswith("TODO") and "# TODO platform" in target.read_text(encoding="utf-8")
