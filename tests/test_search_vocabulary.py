"""The search vocabulary and folding against the real test node: what docs/webapp.md promises."""

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.lexicon import fold_text
from core.settings import Settings
from index_config.client import get_client
from index_config.documents import refold
from index_config.loader import load_listings
from index_config.manage import listings_alias
from index_config.search import SearchError, SearchParams, search
from tests.index_data import T0, fresh_prefix, listing

ROOT = Path(__file__).resolve().parent.parent
ROWS = {
    "accent": {"title": "Entrega rápida garantizada", "description": "Envío discreto."},
    "leet": {"title": "pr3ss3d p1lls 100ct", "description": "m3th shards too"},
    "plain": {"title": "pressed pills wholesale", "description": "crystal meth, fentanyl powder"},
    "zw": {"title": "Fe\u200bntanyl patches", "description": "f e n t a n y l and mеth (cyrillic e)"},
    "contacts": {
        "title": "Contact row",
        "description": "see contacts",
        "contacts": {
            "telegram": ["plugone", "@plugtwo"],
            "phone": ["+12025550143"],
            "telegram_bot": ["menu_bot"],
            "threema": ["KW7T3PXM"],
            "cashtag": ["$plug"],
        },
        "crypto": [
            {"currency": "BTC", "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "valid_checksum": True}
        ],
    },
    "local": {"url": "http://127.0.0.1:8700/classifieds/item/9", "title": "Local demo row", "platform": "Facebook"},
    # The row docs/webapp.md's examples are written against (market.example, vendor3, @plug3...).
    "docs": {
        "title": "Blues M30 x100",
        "description": "escrow accepted, tranq dope too",
        "seller": "vendor3",
        "contacts": {"telegram": ["@plug3"]},
        "language": "en",
        "substances": ["xylazine"],
        "scope": "synthetic",
        "score": 0.95,
        "source": "shop",
        "currency": "EUR",
        "price": 150.0,
    },
}


def _rows() -> list:
    out = []
    for i, (name, fields) in enumerate(ROWS.items()):
        data = {
            "title": fields["title"],
            "description": fields.get("description", "no description"),
            "contacts": fields.get("contacts", {}),
            "crypto": fields.get("crypto", []),
            "platform": fields.get("platform", "Example Market"),
            "seller": {"name": fields.get("seller", f"seller-{name}")},
            "language": fields.get("language"),
            **{k: fields[k] for k in ("source", "currency", "price") if k in fields},
            "fetched_at": T0 + timedelta(minutes=i),
            "classification": {
                "score": fields.get("score", 0.5 + i / 100),
                "flagged": True,
                "threshold": 0.5,
                "scope": fields.get("scope", "none"),
                "substances": fields.get(
                    "substances", ["methamphetamine"] if name in ("leet", "plain") else ["fentanyl"]
                ),
                "model_version": "test-1",
            },
        }
        if "url" in fields:
            data["url"] = fields["url"]
        out.append(listing(i, **data))
    return out


@pytest.fixture(scope="module")
def indexed(es_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict]]:
    with fresh_prefix(es_settings, tmp_path_factory.mktemp("var")) as settings:
        rows = _rows()
        report = load_listings(rows, settings)
        assert (report.created, report.errors) == (len(rows), []), report
        ids = {name: row.id for name, row in zip(ROWS, rows, strict=True)}
        client = get_client(settings)
        alias = listings_alias(settings)
        client.update(index=alias, id=ids["plain"], doc={"triage": {"status": "false_positive"}})
        client.update(index=alias, id=ids["docs"], doc={"triage": {"status": "confirmed"}})
        client.update(index=alias, id=ids["accent"], doc={"triage": {"status": "needs_review"}})
        client.update(index=alias, id=ids["docs"], doc={"takedown": {"status": "reported"}})
        client.indices.refresh(index=listings_alias(settings))
        yield settings, ids


def found(indexed: tuple[Settings, dict], es_client: Elasticsearch, **params: object) -> set[str]:
    settings, ids = indexed
    by_id = {v: k for k, v in ids.items()}
    result = search(es_client, settings, SearchParams.model_validate({"size": 100, **params}))
    return {by_id[h["id"]] for h in result.hits}


def test_fold_text_reads_disguises_as_words() -> None:
    assert fold_text("pr3ss3d p1lls") == "pressed pills"
    assert fold_text("Fe\u200bntanyl") == "fentanyl"
    assert fold_text("f e n t a n y l") == "fentanyl"
    assert fold_text("mеth") == "meth"  # Cyrillic е
    assert fold_text("fent@nyl") == fold_text("FENTANYL")
    assert fold_text("rápida") == "rapida"
    assert fold_text("price 100 $100 @plug") == "price 100 $100 @plug"  # numbers and handles stay


def test_refold_recomputes_the_folded_copy() -> None:
    assert refold({"title": "M3TH", "seller": {"name": "Vénd0r"}})["folded"] == {
        "title": "meth",
        "description": None,
        "seller": "vendor",
    }


@pytest.mark.integration
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("entrega rapida", {"accent"}),
        ("entrega rápida", {"accent"}),
        ("pressed pills", {"leet", "plain"}),
        ("pr3ss3d p1lls", {"leet", "plain"}),
        ("fentanyl", {"plain", "zw", "contacts", "local", "accent"}),  # words + classifier tag (boosted lower)
        ("title:fentanyl", {"zw"}),
    ],
)
def test_folded_text_is_searched_beside_the_original(indexed, es_client, q: str, expected: set[str]) -> None:
    assert found(indexed, es_client, q=q) == expected


@pytest.mark.integration
def test_meth_and_m3th_find_the_same_listings(indexed, es_client) -> None:
    assert found(indexed, es_client, q="description:meth") == found(indexed, es_client, q="description:m3th")
    assert found(indexed, es_client, q="description:meth") == {"leet", "plain", "zw"}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("telegram:@plugone", {"contacts"}),
        ("telegram:plugtwo", {"contacts"}),
        ("handle:@PlugTwo", {"contacts"}),
        ("phone:202-555-0143", {"contacts"}),
        ("telegram_bot:@menu_bot", {"contacts"}),
        ("threema:kw7t3pxm", {"contacts"}),
        ("cashtag:plug", {"contacts"}),
        ("cashtag:$plug", {"contacts"}),
        ('phone:"+1 (202) 555 0143"', {"contacts"}),
        ("phone:+12025550143", {"contacts"}),
        ("crypto:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", {"contacts"}),
        ("crypto:bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=1", {"contacts"}),
        ("crypto:bc1qar0s*", {"contacts"}),
        ("crypto:bc1qar0s…", {"contacts"}),
        ("site:127.0.0.1", {"local"}),
        ("site:127.0.0.1:8700", {"local"}),
        ("platform:meta-facebook", {"local"}),
        ("platform:Meta", {"local"}),
        ('platform:"facebook marketplace"', {"local"}),
        ("substance:meth", {"leet", "plain"}),
        ("substance:methamphetamine", {"leet", "plain"}),
        ("substance:fent", {"accent", "zw", "contacts", "local"}),
        ("triage:false-positive", {"plain"}),
        ("triage:false_positive", {"plain"}),
        ("-triage:untriaged", {"plain", "docs", "accent"}),
        ("triage:review", {"accent"}),
    ],
)
def test_vocabulary_reads_values_as_users_write_them(indexed, es_client, q: str, expected: set[str]) -> None:
    assert found(indexed, es_client, q=q) == expected


@pytest.mark.integration
def test_filters_take_the_same_spellings(indexed, es_client) -> None:
    assert found(indexed, es_client, platform=["Meta"]) == {"local"}
    assert found(indexed, es_client, site=["127.0.0.1"]) == {"local"}
    assert found(indexed, es_client, triage=["false-positive"]) == {"plain"}


@pytest.mark.integration
def test_unknown_field_is_searched_as_text_with_a_warning(indexed, es_client) -> None:
    settings, _ = indexed
    result = search(es_client, settings, SearchParams(q="colour:red https://x.example"))
    assert len(result.warnings) == 1 and result.warnings[0].startswith("colour: is not a search field")
    assert search(es_client, settings, SearchParams(q="pills")).warnings == []


@pytest.mark.integration
def test_cursors_are_bound_to_their_search_and_contexts_are_closed(indexed, es_client) -> None:
    settings, ids = indexed
    params = {"size": 2, "sort": "newest"}
    page = search(es_client, settings, SearchParams(**params))
    seen = [h["id"] for h in page.hits]
    with pytest.raises(SearchError, match="does not belong to this search"):
        search(es_client, settings, SearchParams(**params | {"sort": "score", "cursor": page.next}))
    with pytest.raises(SearchError, match="does not belong to this search"):
        search(es_client, settings, SearchParams(**params | {"q": "pills", "cursor": page.next}))
    payload, _, signature = page.next.partition(".")
    with pytest.raises(SearchError, match="does not belong"):
        search(es_client, settings, SearchParams(**params | {"cursor": payload[:-2] + "AA." + signature}))
    with pytest.raises(SearchError):
        search(es_client, settings, SearchParams(**params | {"cursor": "not-a-cursor"}))
    while page.next:
        page = search(es_client, settings, SearchParams(**params | {"cursor": page.next}))
        seen += [h["id"] for h in page.hits]
    assert sorted(seen) == sorted(ids.values())
    stats = es_client.indices.stats(index=listings_alias(settings), metric="search")["_all"]["total"]["search"]
    assert stats["open_contexts"] == 0


def _doc_examples() -> list[str]:
    """Every example in the first column of docs/webapp.md's search-syntax table that names no placeholder."""
    text = (ROOT / "docs" / "webapp.md").read_text(encoding="utf-8")
    section = text.split("## Search syntax", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    examples = [e for row in rows for e in re.findall(r"`([^`]+)`", row.split(" | ")[0])]
    return [e for e in examples if not re.search(r"…|ADDRESS|URL|VERSION|https?://", e)]


def test_the_docs_table_has_examples_to_check() -> None:
    assert len(_doc_examples()) >= 30


@pytest.mark.integration
@pytest.mark.parametrize("q", _doc_examples())
def test_every_search_example_in_the_docs_runs_and_finds_what_its_row_says(indexed, es_client, q: str) -> None:
    settings, _ = indexed
    result = search(es_client, settings, SearchParams(q=q, size=100))
    assert result.warnings == []
    everything = search(es_client, settings, SearchParams(size=100)).total
    if q.startswith("-"):
        assert 0 < result.total < everything
    else:
        assert 0 < result.total < everything, f"{q} should find some listings, not all"
