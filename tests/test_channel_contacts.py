"""Contacts and crypto on a channel feed with every contact kind, English and Spanish, crawled end to end.

The crawl is the real one (Scrapy, WARC, photos fetched, OCR, entity pipeline) against a local copy of
the t.me/s markup shape (tests/channel_contacts.py); precision and recall are scored over every
(post, kind, value) the posts state, and must both reach 0.95.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.schema import CONTACT_FIELDS, Listing
from core.settings import Settings
from crawlers.run import run_crawl
from crawlers.sources import SourceConfig
from tests.channel_contacts import BTC_SEGWIT, CHANNEL, OWNER, POSTS, serve_channel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def channel_source(base: str) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "name": "tg-contacts",
            "platform": "Telegram",
            "kind": "channel",
            "start_urls": [f"{base}/s/{CHANNEL}"],
            "allowed_domains": ["127.0.0.1"],
            "feed": {
                "item": "div.tgme_widget_message[data-post]:not(.service_message)",
                "link": "a.tgme_widget_message_date::attr(href)",
            },
            "links": {},
            "fields": {
                "description": "div.tgme_widget_message_text",
                "seller": "a.tgme_widget_message_owner_name span",
                "seller_url": "a.tgme_widget_message_owner_name::attr(href)",
                "posted_at": "a.tgme_widget_message_date time::attr(datetime)",
                "images": "a.tgme_widget_message_photo_wrap::attr(style)",
            },
            "contacts": {"country": "MX"},
            "politeness": {"concurrency_per_domain": 4, "autothrottle": False},
        }
    )


@pytest.fixture(scope="module")
def crawled(crawl_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Listing]]:
    output = tmp_path_factory.mktemp("channel-contacts") / "out.jsonl"
    with serve_channel() as base:
        report = run_crawl(channel_source(base), crawl_settings, output=output, timeout_s=120)
        assert report.errors == [] and report.finish_reason == "finished"
        listings = [Listing.model_validate(json.loads(line)) for line in Path(output).read_text().splitlines()]
        yield {int(item.url.rsplit("/", 1)[1]): item for item in listings}


def _found(item: Listing) -> set[tuple[str, str]]:
    contacts = item.contacts.model_dump()
    return {(kind, value) for kind in CONTACT_FIELDS for value in contacts[kind]}


def _precision_recall(found: set, truth: set) -> tuple[float, float]:
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), (hits / len(truth) if truth else 1.0)


def test_contacts_and_crypto_reach_095_precision_and_recall(crawled: dict[int, Listing]) -> None:
    assert sorted(crawled) == [p.id for p in POSTS]  # the pinned-message notice is no post
    found_c = {(p.id, *pair) for p in POSTS for pair in _found(crawled[p.id])}
    truth_c = {(p.id, kind, v) for p in POSTS for kind, values in p.contacts.items() for v in values}
    found_x = {(p.id, a.address) for p in POSTS for a in crawled[p.id].crypto}
    truth_x = {(p.id, a) for p in POSTS for a in p.crypto}
    contacts, crypto = _precision_recall(found_c, truth_c), _precision_recall(found_x, truth_x)
    misses = sorted(truth_c - found_c) + sorted(truth_x - found_x)
    extras = sorted(found_c - truth_c) + sorted(found_x - truth_x)
    print(f"channel feed: contacts P {contacts[0]:.3f} R {contacts[1]:.3f} of {len(truth_c)}; "
          f"crypto P {crypto[0]:.3f} R {crypto[1]:.3f} of {len(truth_x)}; missed {misses}; extra {extras}")  # fmt: skip
    assert min(*contacts, *crypto) >= 0.95, (contacts, crypto, misses, extras)
    assert len(truth_c) >= 40 and len(truth_x) >= 7  # enough cases for 0.95 to mean something


def test_seller_is_the_channel_on_every_post(crawled: dict[int, Listing]) -> None:
    assert {item.seller.name for item in crawled.values()} == {OWNER}
    assert all((item.seller.profile_url or "").endswith(f"/{CHANNEL}") for item in crawled.values())


def test_an_address_cut_by_the_title_is_one_address_not_two(crawled: dict[int, Listing]) -> None:
    first = crawled[1]
    assert first.title and len(first.title) == 120 and BTC_SEGWIT not in first.title  # the cut falls inside it
    assert [(a.address, a.valid_checksum) for a in first.crypto] == [(BTC_SEGWIT, True)]


def test_text_in_a_photo_is_read_and_its_contacts_found(crawled: dict[int, Listing]) -> None:
    menu = crawled[9]
    assert len(menu.photos) == 1 and menu.photos[0].text
    assert "KW7T3PXM" in menu.photos[0].text and "MENU" in menu.photos[0].text
    assert menu.contacts.threema == ["KW7T3PXM"] and menu.contacts.cashtag == ["$frostymenu"]
