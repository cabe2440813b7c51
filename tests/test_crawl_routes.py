"""Hash routes and JSON API sources: a shop whose items live at ``/item.html#<id>`` and whose cards come
from a JSON API, crawled in the browser and through its API (listingwatch/demo/marketplaces/hashshop.py).
"""

import gzip
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy import Request

from core.schema import Listing
from core.urls import canonical_url, listing_id
from crawlers.extract.api import api_fields, read_list
from crawlers.fingerprint import CanonicalFingerprinter
from crawlers.pagepool import _same_document
from crawlers.sources import Api, SourceConfig
from listingwatch.demo.marketplaces import hashshop
from listingwatch.demo.marketplaces.sites import SitesServer
from tests.plugins.sites import CrawlResult


@pytest.mark.parametrize(
    ("url", "keep", "expected"),
    [
        ("http://Shop.example/app#/item/7", False, "http://shop.example/app#/item/7"),
        ("http://shop.example/app/#!/item/7?ref=x", False, "http://shop.example/app/#!/item/7?ref=x"),
        ("http://shop.example/item.html#12", False, "http://shop.example/item.html"),
        ("http://shop.example/item.html#12", True, "http://shop.example/item.html#12"),
        ("http://shop.example/ad/3?utm_source=x#top", False, "http://shop.example/ad/3"),
    ],
)
def test_a_route_fragment_is_part_of_the_url(url: str, keep: bool, expected: str) -> None:
    assert canonical_url(url, keep) == expected


def test_route_fragments_are_distinct_listings_and_requests() -> None:
    a, b = "http://shop.example/item.html#1", "http://shop.example/item.html#2"
    assert listing_id(a, keep_fragments=True) != listing_id(b, keep_fragments=True)
    assert Listing(url=a, source="s", platform="p").id == listing_id(a, keep_fragments=True)
    keeping, dropping = CanonicalFingerprinter(keep_fragments=True), CanonicalFingerprinter()
    assert keeping.fingerprint(Request(a)) != keeping.fingerprint(Request(b))
    assert dropping.fingerprint(Request(a)) == dropping.fingerprint(Request(b))
    routes = [Request("http://shop.example/#/item/1"), Request("http://shop.example/#/item/2")]
    assert dropping.fingerprint(routes[0]) != dropping.fingerprint(routes[1])
    # A pooled tab on item 1 must leave the document before showing item 2 (a hash change alone re-renders nothing).
    assert _same_document(a, b) and not _same_document(a, "http://shop.example/other.html#2")
    assert not _same_document("http://shop.example/item.html", "http://shop.example/item.html")


def _api(**changes: object) -> Api:
    base: dict[str, object] = {
        "list_url": "http://shop.example/api/items?page={page}",
        "items": "data.items",
        "listing_url": "http://shop.example/item.html#{id}",
        "price_minor_units": True,
        "fields": {"title": "name", "price": "price.minor", "currency": "price.code", "posted_at": "ts"},
    }
    return Api.model_validate(base | changes)


def test_api_items_pages_and_minor_units() -> None:
    api = _api(has_more="more")
    page = read_list(api, {"data": {"items": [{"id": 5}, {"id": "a b"}, {"name": "no id"}]}, "more": True}, 1)
    assert [key for key, _ in page.entries] == ["5", "a b"] and page.next_page == 2
    assert read_list(api, {"data": {"items": [{"id": 5}]}, "more": False}, 1).next_page is None
    assert read_list(api, {"data": {"items": []}, "more": True}, 3).next_page is None  # an empty page ends it
    for minor, code, amount in [(4500, "usd", "45"), (4500, "JPY", "4500"), (12345, "KWD", "12.345")]:
        fields = api_fields(api, {"name": "x", "price": {"minor": minor, "code": code}, "ts": 1767225600})
        assert fields.price is not None and Decimal(str(fields.price.amount)) == Decimal(amount)
        assert fields.price.currency == code.upper() and fields.posted_at and fields.posted_at.year == 2026
    cursor = _api(list_url="http://shop.example/api/items?after={cursor}", next_cursor="next")
    assert read_list(cursor, {"data": {"items": [{"id": 1}]}, "next": "c2"}, None).next_cursor == "c2"
    assert read_list(cursor, {"data": {"items": [{"id": 1}]}, "next": None}, None).next_cursor is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"list_url": "http://shop.example/api/items"}, "exactly one of {page} or {cursor}"),
        ({"list_url": "http://shop.example/api?c={cursor}"}, "set api.next_cursor"),
        ({"listing_url": "http://shop.example/item.html"}, "needs {id}"),
        ({"items": "data.[items"}, "invalid JMESPath"),
    ],
)
def test_bad_api_blocks_are_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("[", r"\[")):
        _api(**changes)


def test_an_api_source_needs_no_listing_links_and_no_browser() -> None:
    raw = {
        "name": "s",
        "platform": "p",
        "start_urls": ["http://shop.example/"],
        "allowed_domains": ["shop.example"],
        "api": _api().model_dump(),
    }
    assert SourceConfig.model_validate(raw).follows_pages
    with pytest.raises(ValueError, match="api: reads JSON over HTTP"):
        SourceConfig.model_validate(raw | {"render": "browser"})


def _check_every_item(listings: list[Listing], base: str) -> None:
    """Every product once, at its hash route, with exactly the fields the shop's API holds."""
    by_url = {item.url: item for item in listings}
    assert len(by_url) == len(listings) == hashshop.COUNT
    for product in hashshop.PRODUCTS:
        item = by_url[f"{base}{hashshop.item_path(product)}"]
        assert item.title == product.title
        assert item.description == " ".join(product.description.split())
        assert (item.price, item.currency) == (round(product.price, 2), product.currency)
        assert item.seller.name == product.seller
        assert item.seller.profile_url == f"{base}/hashshop/seller/{product.seller}"
        assert item.posted_at == product.posted_at.replace(microsecond=0)
        assert len(item.photos) == len(product.images) and all(p.phash for p in item.photos)


@pytest.mark.integration
@pytest.mark.slow
def test_browser_crawl_of_a_hash_routed_shop_gets_every_item(
    crawl_demo: Callable[..., CrawlResult], sites: SitesServer
) -> None:
    report, listings = crawl_demo("hashshop")
    assert report.errors == [] and report.skipped == {} and report.finish_reason == "finished"
    _check_every_item(listings, sites.url)
    assert all(item.evidence.screenshot_sha256 for item in listings)


@pytest.mark.integration
@pytest.mark.slow
def test_api_source_gets_every_item_with_the_replies_as_evidence(
    crawl_demo: Callable[..., CrawlResult], sites: SitesServer
) -> None:
    report, listings = crawl_demo("hashshop-api")
    assert report.errors == [] and report.skipped == {} and report.warnings == []
    _check_every_item(listings, sites.url)
    assert all(item.extraction["title"] == "api" for item in listings)
    # Each listing points at the archived API reply it was read from.
    one = listings[0]
    warc = gzip.decompress(Path(one.evidence.warc_file or "").read_bytes())
    assert one.evidence.body_sha256 and b"/hashshop/api/products/" in warc and b"application/json" in warc
    _, browser = crawl_demo("hashshop")
    assert {item.id for item in listings} == {item.id for item in browser}  # one item, one ID in both modes
