"""Issue 25's target on the local sites, through Airflow: a new synthetic offer published on the site of the
hourly (adaptive 1h..1d) `classifieds` source reaches a webhook subscriber within one scheduled run; no alert
is sent twice; a subscriber whose endpoint was down gets it after the endpoint recovers.
"""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.settings import get_settings
from core.store import session_scope
from core.store.users import add_user
from listingwatch.demo.marketplaces.sites import start_sites
from listingwatch.orchestration.dag_factory import source_dag
from listingwatch.orchestration.dag_files import sync_dag_files
from listingwatch.runs.listings_io import read_listings
from listingwatch.runs.paths import run_key, run_paths
from monitor.alerts.run import run_alerts
from monitor.alerts.subscriptions import NewSubscription, add_subscription
from tests.alert_receivers import WebhookReceiver
from tests.index_data import fresh_prefix
from tests.plugins.web import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOURCE = "classifieds"
FIRST = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def setup(es_settings, trained_model, airflow_db, tmp_path_factory):
    sources = tmp_path_factory.mktemp("sources")
    (sources / f"{SOURCE}.yaml").write_text(
        (es_settings.crawl.sources_dir / f"{SOURCE}.yaml").read_text(encoding="utf-8")
    )
    base = es_settings.model_copy(
        update={
            "model": trained_model.settings.model,
            "crawl": es_settings.crawl.model_copy(update={"sources_dir": sources}),
            "airflow": es_settings.airflow.model_copy(update={"retries": 0, "dags_folder": airflow_db}),
            "alerts": es_settings.alerts.model_copy(update={"min_score": 0.0, "app_url": "https://lw.example"}),
        }
    )
    # An index of its own: listings other modules indexed from the same sites keep their earlier first_seen.
    # Sites of its own too: this test publishes a listing, which other modules' crawls must not see.
    with start_sites() as own_sites, fresh_prefix(base, tmp_path_factory.mktemp("alerts-var")) as settings:
        yield from _running(settings, own_sites)


def _running(settings, own_sites):
    sync_dag_files(settings)
    up, down_port = WebhookReceiver(free_port()).start(), free_port()
    with session_scope(settings) as db:
        ana = add_user(db, "ana", "analyst", "a long enough password")
        add_subscription(db, ana, NewSubscription("new_offer", up.url, "webhook"))
        add_subscription(db, ana, NewSubscription("new_offer", f"http://127.0.0.1:{down_port}/hook", "webhook"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LISTINGWATCH_CRAWL__SOURCES_DIR", str(settings.crawl.sources_dir))
        mp.setenv("LISTINGWATCH_SITES_URL", own_sites.url)
        get_settings.cache_clear()
        try:
            yield settings, up, down_port, own_sites
        finally:
            get_settings.cache_clear()
            up.stop()


def _alerted(receiver: WebhookReceiver) -> list[str]:
    return [a["data"]["listing_id"] for body in receiver.bodies for a in body["alerts"]]


def _synthetic(settings, when: datetime) -> dict[str, float]:
    rows = read_listings(run_paths(settings, SOURCE, run_key(when)).classified)
    return {
        x.id: x.classification.score
        for x in rows
        if x.classification and x.classification.flagged and x.classification.scope == "synthetic"
    }


def test_new_offer_reaches_the_subscriber_in_one_run_once_and_the_down_one_after_recovery(setup) -> None:
    settings, up, down_port, sites = setup
    dag = source_dag(SOURCE, settings)

    first = dag.test(logical_date=FIRST)
    assert {ti.task_id: str(ti.state) for ti in first.get_task_instances()}["alerts"] == "success"
    existing = _synthetic(settings, FIRST)
    assert existing and sorted(_alerted(up)) == sorted(existing)

    # The platform's seller posts the best-scoring offer again: a new listing on the site.
    best = max(existing, key=existing.__getitem__)
    url = next(x.url for x in read_listings(run_paths(settings, SOURCE, run_key(FIRST)).classified) if x.id == best)
    reply = httpx.post(f"{sites.url}/admin/classifieds/{url.rsplit('/', 1)[1]}/relist", timeout=10)
    assert reply.status_code == 200, reply.text

    second = dag.test(logical_date=FIRST + timedelta(hours=1))
    assert {ti.task_id: str(ti.state) for ti in second.get_task_instances()}["alerts"] == "success"
    new = set(_synthetic(settings, FIRST + timedelta(hours=1))) - set(existing)
    assert len(new) == 1, "the relisted offer is one new flagged synthetic listing"
    assert _alerted(up)[len(existing) :] == sorted(new)
    assert len(_alerted(up)) == len(set(_alerted(up))), "no alert twice"

    recovered = WebhookReceiver(down_port).start()
    try:
        report = run_alerts(settings, now=datetime.now(UTC) + timedelta(hours=2))
        assert report.failed == 0, report.describe()
        assert sorted(_alerted(recovered)) == sorted(_alerted(up))
    finally:
        recovered.stop()
