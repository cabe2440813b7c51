"""A re-crawl never rewinds a listing: an older capture loaded late adds its observation and changes nothing else."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.settings import Settings
from index_config.loader import load_listings
from index_config.manage import listings_alias, observations_alias
from tests.index_data import T0, fresh_prefix, listing

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


def _stored(client: Elasticsearch, settings: Settings, listing_id: str) -> tuple[dict, int]:
    client.indices.refresh(index=[listings_alias(settings), observations_alias(settings)])
    doc = client.get(index=listings_alias(settings), id=listing_id)["_source"]
    return doc, int(client.count(index=observations_alias(settings))["count"])


@pytest.mark.parametrize("same_batch", [False, True])
def test_an_older_capture_loaded_after_a_newer_one_keeps_the_newer(
    settings: Settings, es_client: Elasticsearch, same_batch: bool
) -> None:
    old = listing(1, T0, title="M30 blues (old title)")
    new = listing(1, T0 + timedelta(days=2), title="M30 blues restocked", evidence={"body_sha256": "b" * 64})
    if same_batch:
        load_listings([new, old], settings, es_client)
    else:
        load_listings([new], settings, es_client)
        load_listings([old], settings, es_client)
    doc, observations = _stored(es_client, settings, new.id)
    assert doc["last_seen"] == new.fetched_at.isoformat()
    assert doc["title"] == "M30 blues restocked"
    assert observations == 2  # the older capture is still recorded as what was seen then
