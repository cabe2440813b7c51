"""Seller clustering as pure logic: identifiers, near-identical text, connected components."""

from datetime import UTC, datetime

from index_config.sellers import build_clusters, cluster_document, identifiers, similar_text_pairs

TEXT = "vacuum sealed stealth packaging with tracking number and reship guarantee escrow accepted bulk discounts"


def test_identifiers_are_normalised_and_include_photo_hashes() -> None:
    doc = {
        "contacts": {"telegram": ["@Plug"], "phone": ["+15550100"], "email": ["a@b.example"]},
        "crypto": [{"address": "bc1qxyz"}],
        "seller": {"profile_url": "https://Site.example/u/Vendor/"},
        "photos": [{"phash": "ABCD"}],
    }
    assert identifiers(doc) == [
        ("crypto", "bc1qxyz"),
        ("email", "a@b.example"),
        ("phash", "abcd"),
        ("phone", "+15550100"),
        ("profile", "https://site.example/u/vendor"),
        ("telegram", "plug"),
    ]


def test_near_identical_text_links_and_short_text_does_not() -> None:
    pairs = similar_text_pairs([("a", TEXT), ("b", TEXT + " today"), ("c", "M30 blues"), ("d", "M30 blues")])
    assert pairs == [("a", "b")]


def test_components_join_through_shared_identifiers_transitively() -> None:
    docs = {
        "1": {"contacts": {"telegram": ["@x"]}},
        "2": {"contacts": {"telegram": ["x"]}, "crypto": [{"address": "btc1"}]},
        "3": {"crypto": [{"address": "btc1"}]},
        "4": {"description": TEXT},
        "5": {"description": TEXT + " now"},
        "6": {"title": "alone"},
    }
    clusters = sorted(build_clusters(docs), key=lambda c: c.listing_ids)
    assert [c.listing_ids for c in clusters] == [["1", "2", "3"], ["4", "5"]]
    doc = cluster_document(clusters[0], {k: docs[k] | {"site": "s"} for k in docs}, datetime(2026, 1, 1, tzinfo=UTC))
    assert doc["size"] == 3 and doc["counts"]["sites"] == {"s": 3}
    assert {(i["kind"], i["value"]) for i in doc["identifiers"]} == {("telegram", "x"), ("crypto", "btc1")}
