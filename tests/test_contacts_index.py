"""The new contact kinds and photo text on the real Elasticsearch node: mapped, searchable, clustered, ranked."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.schema import Photo
from core.settings import Settings
from index_config.loader import load_listings
from index_config.manage import listings_alias
from index_config.search import parse_params, search
from index_config.sellers import list_sellers, recompute_sellers
from tests.index_data import T0, fresh_prefix, listing

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


def _ids(client: Elasticsearch, settings: Settings, q: str) -> set[str]:
    return {hit["id"] for hit in search(client, settings, parse_params({"q": q})).hits}


def test_new_contact_kinds_and_photo_text_are_searchable(settings: Settings, es_client: Elasticsearch) -> None:
    menu = Photo(url="https://market.example/p.jpg", sha256="a" * 64, text="MENU nitazene strips Threema KW7T3PXM")
    items = [
        listing(1, contacts={"threema": ["KW7T3PXM"], "cashtag": ["$frostymenu"]}, photos=[menu]),
        listing(2, contacts={"session": ["05" + "3f" * 32], "venmo": ["elpatron-tx"], "telegram_bot": ["menu_bot"]}),
        listing(3, contacts={"zelle": ["+17135550199"], "paypal": ["kingplug"]}),
    ]
    load_listings(items, settings, es_client)
    es_client.indices.refresh(index=listings_alias(settings))
    assert _ids(es_client, settings, "threema:kw7t3pxm") == {items[0].id}
    assert _ids(es_client, settings, "cashtag:$FrostyMenu") == {items[0].id}
    assert _ids(es_client, settings, "telegram_bot:menu_bot venmo:elpatron-tx") == {items[1].id}
    assert _ids(es_client, settings, 'zelle:"+17135550199"') == {items[2].id}
    assert _ids(es_client, settings, "handle:kingplug") == {items[2].id}
    assert _ids(es_client, settings, "nitazene strips") == {items[0].id}  # words only in the photo
    stored = es_client.get(index=listings_alias(settings), id=items[0].id)["_source"]
    assert stored["photos"][0]["text"] == menu.text and "nitazene" not in stored["description"]


def test_sellers_page_ranks_by_risk_and_ignores_hub_identifiers(settings: Settings, es_client: Elasticsearch) -> None:
    stock = Photo(url="https://market.example/stock.jpg", sha256="b" * 64, phash="ffff0000ffff0000")
    verdict = {"score": 0.6, "flagged": True, "threshold": 0.5, "scope": "other_drug", "model_version": "t"}
    big = [
        listing(10 + i, seller={"name": "weedking"}, contacts={"telegram": ["@weedking"]}, classification=verdict)
        for i in range(6)
    ]
    synthetic = {**verdict, "score": 0.97, "scope": "synthetic", "substances": ["fentanyl"]}
    small = [
        listing(30 + i, T0 + timedelta(days=1), seller={"name": "m30plug"}, contacts={"threema": ["KW7T3PXM"]},
                classification=synthetic)
        for i in range(2)
    ]  # fmt: skip
    strangers = [
        listing(50 + i, seller={"name": f"stranger{i}"}, contacts={}, crypto=[], photos=[stock]) for i in range(8)
    ]
    load_listings(big + small + strangers, settings, es_client)
    es_client.indices.refresh(index=listings_alias(settings))
    recompute_sellers(es_client, settings, now=T0 + timedelta(days=2))
    total, clusters = list_sellers(es_client, settings)
    assert total == 2  # the stock photo on 8 unrelated sellers' listings ties none of them
    assert [c["seller_names"] for c in clusters] == [["m30plug"], ["weedking"]]
    assert clusters[0]["synthetic_offers"] == 2 and clusters[0]["risk"] > clusters[1]["risk"]
