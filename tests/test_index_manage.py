"""Templates, aliases and migrations against the real node."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.settings import Settings
from index_config import templates
from index_config.loader import load_listings
from index_config.manage import index_stats, init_indices, listings_alias, migrate_indices, write_index
from tests.index_data import fresh_prefix, listing


def test_templates_render_for_a_prefix_and_fingerprint_their_files() -> None:
    rendered = templates.render("acme")
    assert set(rendered.index_templates) == {"acme-listings", "acme-observations"}
    listings = rendered.index_templates["acme-listings"]
    assert listings["index_patterns"] == ["acme-listings-v*"]
    assert listings["composed_of"] == ["acme-settings", "acme-listings-mappings"]
    assert listings["template"]["mappings"]["_meta"]["fingerprint"] == templates.fingerprint("listings")
    assert templates.fingerprint("listings") != templates.fingerprint("observations")
    fields = rendered.components["acme-listings-mappings"]["template"]["mappings"]["properties"]
    for name in ("title", "description", "price", "seller", "contacts", "crypto", "shipping", "evidence",
                 "classification", "takedown", "first_seen", "last_seen"):  # fmt: skip
        assert name in fields


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


@pytest.mark.integration
def test_init_is_idempotent_and_writes_through_aliases(settings: Settings, es_client: Elasticsearch) -> None:
    again = init_indices(es_client, settings)
    assert not again["listings"]["created"] and not again["listings"]["needs_migration"]
    assert write_index(es_client, listings_alias(settings)) == f"{settings.es.index_prefix}-listings-v1"


@pytest.mark.integration
def test_a_template_change_moves_the_alias_to_a_new_index_without_losing_documents(
    settings: Settings, es_client: Elasticsearch
) -> None:
    load_listings([listing(i) for i in range(1_234)], settings, es_client)
    old = write_index(es_client, listings_alias(settings))
    assert migrate_indices(es_client, settings)["listings"]["migrated"] is False
    # The index was built from an older template version: its stamped fingerprint differs.
    es_client.indices.put_mapping(index=old, meta={"family": "listings", "fingerprint": "older-version"})
    assert index_stats(es_client, settings)["listings"]["needs_migration"] is True

    report = migrate_indices(es_client, settings)

    moved = report["listings"]
    assert moved["migrated"] and moved["from"] == old and moved["documents"] == 1_234
    assert moved["index"] == f"{settings.es.index_prefix}-listings-v2"
    assert write_index(es_client, listings_alias(settings)) == moved["index"]
    assert not es_client.indices.exists(index=old)
    assert report["observations"]["migrated"] is False
    stats = index_stats(es_client, settings)["listings"]
    assert stats["documents"] == 1_234 and stats["flagged"] == 1_234 and not stats["needs_migration"]
    # Writers keep using the alias, and re-crawls still update rather than duplicate.
    again = load_listings([listing(i) for i in range(10)], settings, es_client)
    assert again.unchanged == 10 and again.created == 0
