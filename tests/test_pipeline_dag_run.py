"""A source DAG end to end through Airflow: `dag.test()` against the local sites, the real
Elasticsearch test node and the quick trained model.

One module-scoped run is shared by the assertions; the rerun of the same logical date is
Airflow's "clear and rerun", and a run for the next logical date is the next scheduled crawl.
The DAGs run from generated DAG files in the test DAGs folder, exactly as in production:
one for the shipped `classifieds` source and one for a copy of it whose site is down.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from core.errors import ListingwatchError
from core.settings import Settings, get_settings
from crawlers.sources import find_source
from listingwatch.orchestration.dag_factory import source_dag
from listingwatch.orchestration.dag_files import sync_dag_files
from listingwatch.runs.listings_io import read_listings
from listingwatch.runs.paths import run_key, run_paths
from listingwatch.runs.steps import crawl_step
from listingwatch.runs.summary import RunSummary

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOURCE = "classifieds"
DOWN = "downsite"
FIRST = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pipeline_settings(es_settings, trained_model, sites, airflow_db, closed_port_url, tmp_path_factory):
    """The ES test node, the quick model, a throwaway var/, no retries, and DAG files for two sources."""
    repo_sources = es_settings.crawl.sources_dir
    sources = tmp_path_factory.mktemp("sources")
    (sources / f"{SOURCE}.yaml").write_text((repo_sources / f"{SOURCE}.yaml").read_text(encoding="utf-8"))
    down = yaml.safe_load((repo_sources / f"{SOURCE}.yaml").read_text(encoding="utf-8"))
    down.update(name=DOWN, start_urls=[f"{closed_port_url}/classifieds/"])
    (sources / f"{DOWN}.yaml").write_text(yaml.safe_dump(down), encoding="utf-8")
    settings = es_settings.model_copy(
        update={
            "var_dir": tmp_path_factory.mktemp("pipeline-var"),
            "model": trained_model.settings.model,
            "crawl": es_settings.crawl.model_copy(update={"sources_dir": sources}),
            "airflow": es_settings.airflow.model_copy(update={"retries": 0, "dags_folder": airflow_db}),
        }
    )
    assert sorted(sync_dag_files(settings).created) == [SOURCE, DOWN]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LISTINGWATCH_CRAWL__SOURCES_DIR", str(sources))  # what `dag.test()` parses the DAG files with
        get_settings.cache_clear()  # the DAG files read the process-wide settings
        try:
            yield settings
        finally:
            get_settings.cache_clear()


def _states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _summary(settings: Settings, when: datetime) -> RunSummary:
    path = run_paths(settings, SOURCE, run_key(when)).summary
    return RunSummary.model_validate_json(path.read_text(encoding="utf-8"))


def _counts(es_client, settings: Settings) -> tuple[int, int]:
    from index_config.manage import listings_alias, observations_alias

    listings, observations = listings_alias(settings), observations_alias(settings)
    es_client.indices.refresh(index=[listings, observations])
    query = {"term": {"source": SOURCE}}
    return (
        es_client.count(index=listings, query=query)["count"],
        es_client.count(index=observations, query=query)["count"],
    )


@pytest.fixture(scope="module")
def first_run(pipeline_settings):
    dag = source_dag(SOURCE, pipeline_settings)
    dag_run = dag.test(logical_date=FIRST)
    return dag, dag_run


def test_run_succeeds_and_publishes_its_summary(first_run, pipeline_settings) -> None:
    _dag, dag_run = first_run
    steps = ["due", "crawl", "classify", "index", "publish_summary", "alerts"]  # classifieds is adaptive
    assert _states(dag_run) == dict.fromkeys(steps, "success")
    summary = _summary(pipeline_settings, FIRST)
    assert summary.pages_fetched > summary.listings > 0
    assert summary.new == summary.listings and summary.changed == summary.gone == 0
    assert summary.classified == summary.listings
    assert summary.indexed == summary.listings
    assert summary.flagged > 0 and summary.errors == 0

    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == dag_run.run_id).all()
    assert [e.extra["listings"] for e in events] == [summary.listings]
    assert events[0].extra["flagged_by_substance"] == summary.flagged_by_substance


def test_index_holds_the_flagged_listings_of_the_run(first_run, pipeline_settings, es_client, sites) -> None:
    from index_config.manage import listings_alias

    summary = _summary(pipeline_settings, FIRST)
    listings, _observations = _counts(es_client, pipeline_settings)
    assert listings == summary.listings

    classified = read_listings(run_paths(pipeline_settings, SOURCE, run_key(FIRST)).classified)
    expected = {x.id for x in classified if x.classification and x.classification.flagged}
    hits = es_client.search(
        index=listings_alias(pipeline_settings),
        query={"bool": {"filter": [{"term": {"source": SOURCE}}, {"term": {"classification.flagged": True}}]}},
        size=1000,
        source_includes=["url"],
    )["hits"]["hits"]
    assert {hit["_id"] for hit in hits} == expected
    assert len(expected) == summary.flagged > 0

    truth = sites.truth()
    flagged_urls = [hit["_source"]["url"] for hit in hits]
    illicit = sum(truth[url].illicit for url in flagged_urls if url in truth)
    assert illicit / len(flagged_urls) >= 0.8, "the quick model should flag mostly illicit listings"


def test_clear_and_rerun_leaves_documents_and_summary_unchanged(first_run, pipeline_settings, es_client) -> None:
    dag, _ = first_run
    before_counts = _counts(es_client, pipeline_settings)
    before = _summary(pipeline_settings, FIRST)

    rerun = dag.test(logical_date=FIRST)

    assert set(_states(rerun).values()) == {"success"}
    assert _counts(es_client, pipeline_settings) == before_counts
    after = _summary(pipeline_settings, FIRST)
    assert after.model_dump(exclude={"finished_at", "seconds"}) == before.model_dump(exclude={"finished_at", "seconds"})


def test_next_run_finds_the_same_listings_unchanged_and_duplicates_nothing(
    first_run, pipeline_settings, es_client
) -> None:
    dag, _ = first_run
    listings_before, _ = _counts(es_client, pipeline_settings)
    later = FIRST + timedelta(hours=6)

    dag_run = dag.test(logical_date=later)

    assert set(_states(dag_run).values()) == {"success"}
    summary = _summary(pipeline_settings, later)
    assert (summary.new, summary.changed, summary.gone) == (0, 0, 0)
    assert summary.unchanged == summary.listings == listings_before
    assert summary.classified == 0, "unchanged text must not go through the model again"
    assert _counts(es_client, pipeline_settings)[0] == listings_before


def test_source_whose_site_is_down_fails_its_own_run_and_spares_the_others(
    first_run, pipeline_settings, es_client
) -> None:
    down = find_source(pipeline_settings.crawl.sources_dir, DOWN)
    counts_before = _counts(es_client, pipeline_settings)

    with pytest.raises(ListingwatchError, match="site is up"):
        crawl_step(down, pipeline_settings, run_paths(pipeline_settings, DOWN, "direct"))

    dag_run = source_dag(DOWN, pipeline_settings).test(logical_date=FIRST)
    states = _states(dag_run)
    assert states["crawl"] == "failed"
    assert {states[t] for t in ("classify", "index", "publish_summary", "alerts")} == {"upstream_failed"}
    assert not run_paths(pipeline_settings, DOWN, run_key(FIRST)).summary.exists()
    assert _counts(es_client, pipeline_settings) == counts_before

    later = FIRST + timedelta(hours=12)
    healthy_run = first_run[0].test(logical_date=later)
    assert set(_states(healthy_run).values()) == {"success"}
    assert _summary(pipeline_settings, later).listings == counts_before[0]


def test_recheck_reports_flagged_listings_live_changed_or_gone(first_run, pipeline_settings, es_client, sites) -> None:
    """Runs last: it adds two doctored flagged listings (one whose page changed, one that is gone)."""
    import shutil

    from index_config.loader import load_listings
    from index_config.manage import listings_alias
    from listingwatch.orchestration.dag_factory import recheck_dag

    classified = read_listings(run_paths(pipeline_settings, SOURCE, run_key(FIRST)).classified)
    flagged = [x for x in classified if x.classification and x.classification.flagged]
    # A later capture (a re-crawl never rewinds a listing, so an older one would not change the index).
    edited = flagged[0].model_copy(
        update={"title": "An older title the seller has since replaced", "fetched_at": datetime.now(UTC)}
    )
    gone = flagged[1].model_copy(update={"url": f"{sites.url}/classifieds/item/999999"})
    load_listings([edited, gone], pipeline_settings, client=es_client)
    es_client.indices.refresh(index=listings_alias(pipeline_settings))
    shutil.copy(Path(__file__).parents[1] / "dags" / "recheck_flagged.py", pipeline_settings.airflow.dags_folder)

    dag_run = recheck_dag(pipeline_settings).test(logical_date=FIRST)

    assert set(_states(dag_run).values()) == {"success"}
    report = json.loads(
        (pipeline_settings.var_dir / "pipeline" / "_recheck" / run_key(FIRST) / "report.json").read_text()
    )
    assert report["counts"] == {"changed": 1, "gone": 1, "live": len(flagged) - 1}
    assert report["gone_urls"] == [gone.url] and report["changed_urls"] == [edited.url]
