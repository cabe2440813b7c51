"""The loader against the real node: idempotent upserts, kept first_seen/takedown, bad lines reported."""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.settings import Settings
from index_config.loader import MAX_LINE_BYTES, load_jsonl, load_listings
from index_config.manage import listings_alias, observations_alias
from tests.index_data import T0, as_line, fresh_prefix, listing, write_jsonl

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


def _counts(client: Elasticsearch, settings: Settings) -> tuple[int, int]:
    client.indices.refresh(index=[listings_alias(settings), observations_alias(settings)])
    return (
        client.count(index=listings_alias(settings))["count"],
        client.count(index=observations_alias(settings))["count"],
    )


def _get(client: Elasticsearch, settings: Settings, listing_id: str) -> dict:
    return client.get(index=listings_alias(settings), id=listing_id)["_source"]


def test_listings_are_searchable_by_text_and_fields(settings: Settings, es_client: Elasticsearch) -> None:
    report = load_listings([listing(i) for i in range(20)], settings, es_client)
    assert (report.created, report.observations, report.failed, report.spooled) == (20, 20, 0, 0)
    es_client.indices.refresh(index=listings_alias(settings))
    hits = es_client.search(
        index=listings_alias(settings),
        query={"bool": {"must": [{"match": {"description": "telegram @plug7"}}],
                        "filter": [{"term": {"contacts.telegram": "@plug7"}}]}},
    )["hits"]["hits"]  # fmt: skip
    assert [h["_source"]["title"] for h in hits] == ["M30 blues pressed pills lot 7"]
    facets = es_client.search(
        index=listings_alias(settings),
        size=0,
        aggs={"substances": {"terms": {"field": "classification.substances"}}},
    )["aggregations"]["substances"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in facets} == {"fentanyl": 20, "counterfeit_pills": 20}


def test_reloading_the_same_file_changes_nothing(settings: Settings, es_client: Elasticsearch, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "crawl.jsonl", [as_line(listing(i)) for i in range(30)])
    first = load_jsonl(path, settings, es_client)
    before = _counts(es_client, settings)
    second = load_jsonl(path, settings, es_client)
    assert before == _counts(es_client, settings) == (30, 30)
    assert (first.created, second.created, second.updated) == (30, 0, 0)
    assert second.unchanged == 30 and second.duplicate_observations == 30


def test_same_listing_under_another_url_spelling_is_one_document(settings: Settings, es_client: Elasticsearch) -> None:
    spellings = [
        "https://Market.Example:443/item/1?utm_source=feed",
        "https://market.example/item/1?fbclid=abc",
        "https://market.example/item/1",
    ]
    records = [listing(1, T0 + timedelta(hours=n), url=url) for n, url in enumerate(spellings)]
    load_listings(records, settings, es_client)
    assert _counts(es_client, settings) == (1, 3)


def test_recrawl_keeps_first_seen_and_takedown_and_advances_last_seen(
    settings: Settings, es_client: Elasticsearch
) -> None:
    original = listing(1)
    load_listings([original], settings, es_client)
    es_client.update(
        index=listings_alias(settings),
        id=original.id,
        doc={"takedown": {"status": "reported", "reported_at": "2026-11-02T00:00:00Z", "reference": "T-1"}},
    )
    later = T0 + timedelta(days=3)
    edited = original.model_copy(update={"fetched_at": later, "title": "M30 blues restocked", "classification": None})
    report = load_listings([edited], settings, es_client)
    assert report.updated == 1
    stored = _get(es_client, settings, original.id)
    assert stored["first_seen"] == T0.isoformat()
    assert stored["last_seen"] == later.isoformat()
    assert stored["title"] == "M30 blues restocked"
    assert stored["takedown"]["status"] == "reported" and stored["takedown"]["reference"] == "T-1"
    # A record loaded without a verdict (classifier not run) leaves the stored verdict alone.
    assert stored["classification"]["model_version"] == "test-1"
    assert _counts(es_client, settings) == (1, 2)


def test_bad_lines_are_reported_by_number_and_never_stop_the_load(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path
) -> None:
    good = [as_line(listing(i)) for i in range(4)]
    oversize = listing(99).model_dump(mode="json") | {"description": "x" * (MAX_LINE_BYTES + 10)}
    lines = [
        good[0],
        "{not json",
        '{"source": "market", "platform": "p", "title": "no url"}',
        good[1],
        as_line(listing(98)).replace('"http_status":200', '"http_status":99999'),  # rejected by the short mapping
        json.dumps(oversize),
        good[2],
        "",
        good[3],
    ]
    report = load_jsonl(write_jsonl(tmp_path / "mixed.jsonl", lines), settings, es_client)
    assert report.created == 4 and report.skipped_lines == 3 and report.failed == 1
    by_line = {e.line: e.reason for e in report.errors}
    assert set(by_line) == {2, 3, 5, 6}
    assert "invalid JSON" in by_line[2]
    assert "url" in by_line[3]
    assert "http_status" in by_line[5] and "rejected" in by_line[5]
    assert "longer than" in by_line[6]
    assert _counts(es_client, settings)[0] == 4
