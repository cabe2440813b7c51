"""After the pipeline's index step, seller clusters and saved-search counts follow the new data."""

from datetime import timedelta
from pathlib import Path

import pytest

from core.settings import Settings
from core.store import session_scope
from core.store.saved import save_search
from core.store.users import add_user
from index_config.client import get_client
from index_config.sellers import list_sellers
from listingwatch.runs.paths import run_paths
from listingwatch.runs.steps import index_step
from tests.index_data import T0, fresh_prefix, listing

pytestmark = pytest.mark.integration


def test_index_step_rebuilds_sellers_and_counts_saved_searches(es_settings: Settings, tmp_path: Path) -> None:
    with fresh_prefix(es_settings, tmp_path) as settings:
        with session_scope(settings) as db:
            user = add_user(db, "ana", "analyst", "0123456789ab")
            saved = save_search(db, user, "pills", "q=pills&flagged=true")
            saved.checked_at = T0 - timedelta(days=1)
            save_search(db, user, "nothing", "q=zzzunmatched")
        paths = run_paths(settings, "market", "20261101T120000Z")
        paths.root.mkdir(parents=True)
        items = [listing(i) for i in range(4)] + [listing(9, contacts={"telegram": ["@plug1"]})]
        paths.classified.write_text("".join(item.model_dump_json() + "\n" for item in items), encoding="utf-8")
        report = index_step(settings, paths)
        assert report.indexed == 5
        counts = {row["name"]: row["new_matches"] for row in report.saved_searches}
        assert counts == {"pills": 5, "nothing": 0}
        total, clusters = list_sellers(get_client(settings), settings, "@plug1")
        assert total == 1 and clusters[0]["size"] == 2
