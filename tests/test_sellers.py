"""Seller clustering as pure logic: identifiers, near-identical text, connected components."""

from datetime import UTC, datetime

from index_config.sellers import build_clusters, cluster_document, identifiers, risk, similar_text_pairs

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


def test_an_identifier_shared_by_many_unrelated_sellers_ties_nobody() -> None:
    stock = {"phash": "ffff0000ffff0000"}
    support = "help@market.example"
    docs = {
        str(i): {"seller": {"name": f"vendor{i}"}, "site": "m", "photos": [stock], "contacts": {"email": [support]}}
        for i in range(12)
    }
    docs["0"]["contacts"] = {"email": [support], "telegram": ["realplug"]}
    docs["1"]["contacts"] = {"email": [support], "telegram": ["realplug"]}
    clusters = build_clusters(docs)
    assert [c.listing_ids for c in clusters] == [["0", "1"]]  # only the rare handle links
    doc = cluster_document(clusters[0], docs, datetime(2026, 1, 1, tzinfo=UTC))
    assert [(i["kind"], i["value"], i["sellers"]) for i in doc["identifiers"]] == [("telegram", "realplug", 2)]
    assert {(i["kind"], i["value"]) for i in doc["common_identifiers"]} == {
        ("email", support),
        ("phash", stock["phash"]),
    }


def test_one_seller_reusing_a_photo_on_many_listings_is_still_one_seller() -> None:
    docs = {
        str(i): {"seller": {"profile_url": "https://m.example/u/plug"}, "photos": [{"phash": "ab"}]} for i in range(30)
    }
    assert [len(c.listing_ids) for c in build_clusters(docs)] == [30]


def test_risk_ranks_synthetic_high_score_recent_sellers_over_big_ones() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    big_cannabis = risk(0.7, 0, "2026-11-30T00:00:00+00:00", now)
    small_fentanyl = risk(0.95, 2, "2026-11-29T00:00:00+00:00", now)
    stale_fentanyl = risk(0.95, 2, "2025-06-01T00:00:00+00:00", now)
    assert small_fentanyl > stale_fentanyl > big_cannabis
    assert risk(None, 0, None, now) == 0.0
