"""A channel feed (Telegram web preview shape): every post a listing with its own stable ID, paged backwards."""

from collections.abc import Callable

import pytest

from core.schema import Listing
from core.urls import listing_id
from listingwatch.demo.marketplaces.channel import CHANNEL, COUNT, POSTS
from listingwatch.demo.marketplaces.sites import SitesServer
from tests.plugins.sites import CrawlResult

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _by_post(listings: list[Listing], base: str) -> dict[int, Listing]:
    prefix = f"{base}/channel/{CHANNEL}/"
    assert all(item.url.startswith(prefix) for item in listings)
    return {int(item.url.removeprefix(prefix)): item for item in listings}


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
    menu = posts[3].description or ""
    assert "📌 MENU 📌" in menu and "c0ke" in menu and posts[3].contacts.telegram == ["plugmenu_support"]
    assert any("x@n@x" in (item.description or "") for item in listings)


def test_post_ids_are_stable_across_crawls(crawl_demo: Callable[..., CrawlResult]) -> None:
    _, first = crawl_demo("channel")
    _, again = crawl_demo("channel", max_pages=2)  # a later, shorter crawl sees the newest posts again
    assert {item.id for item in again} <= {item.id for item in first}
    assert len({item.id for item in again}) == len(again) > 0
