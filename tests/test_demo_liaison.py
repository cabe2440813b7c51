"""The demo's liaison round against the real node, the local sites, Chromium and the store (without `make demo`)."""

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.settings import Settings
from core.store import session_scope
from core.store.takedowns import AuditEntry
from index_config.loader import load_listings
from listingwatch.demo.liaison import REVIEWER, play_round
from listingwatch.demo.marketplaces.sites import start_sites
from takedown import accountability
from takedown.manifest import verify_packet
from takedown.signing import trusted_keys
from takedown.workflow import registry_for
from tests.index_data import fresh_prefix
from tests.plugins.sites import crawl_by_truth

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_one_round_fills_the_takedowns_figures(
    es_settings: Settings, es_client: Elasticsearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_sites() as sites, fresh_prefix(es_settings, tmp_path / "var") as base:
        # Removal checks load the source by name and fetch only its origins: point the demo sources at these sites.
        monkeypatch.setenv("LISTINGWATCH_SITES_URL", sites.url)
        settings = base.model_copy(
            update={"takedown": base.takedown.model_copy(update={"packets_dir": tmp_path / "packets"})}
        )
        crawled = [
            *crawl_by_truth(sites, settings, "classifieds", "/classifieds/", tmp_path),
            *crawl_by_truth(sites, settings, "shop", "/shop/", tmp_path),
        ]
        assert load_listings(crawled, settings, es_client).failed == 0

        done = play_round(settings, es_client, sites.url, datetime.now(UTC))
        assert done.confirmed == 8 and len(done.packets) == 2, done.warnings
        assert (done.removed, done.seller_deleted, done.declined) == (4, 1, 2)

        keys = trusted_keys(settings)
        for path in done.packets:
            assert verify_packet(Path(path), keys).intact
            with zipfile.ZipFile(path) as archive:
                assert "notice.json" in archive.namelist()
        with session_scope(settings) as session:
            rows = {r.platform: r for r in accountability.report(session, registry_for(settings))}
            actors = {e.actor for e in session.query(AuditEntry)}
        classifieds, shop = rows["local-classifieds"], rows["local-shop"]
        assert (classifieds.reported, classifieds.removed, classifieds.seller_deleted) == (4, 2, 1)
        assert classifieds.median_text.startswith("not reached") is False and classifieds.answered == 2
        assert (shop.reported, shop.removed, shop.answered) == (4, 2, 4)
        assert {"demo-liaison", REVIEWER} <= actors, "the demo accounts are recorded as such in the audit log"
        again = play_round(settings, es_client, sites.url)
        assert again.confirmed == 0 and again.packets == [], "a second round adds nothing"
