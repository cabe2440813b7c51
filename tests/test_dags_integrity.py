"""DAG integrity: every DAG file imports, carries owner/tags/retries, has no cycles, and follows its YAML.

Parsing is what the scheduler does every few seconds, so these run against the real
`DagBag` over the repository's ``dags/`` and over a scratch copy with a broken source.
"""

from pathlib import Path

import pytest
import yaml

from core.settings import get_settings, load_settings
from crawlers.sources import find_source
from listingwatch.orchestration.dag_files import expected_shims, shim_dir, sync_dag_files

VALID_SOURCE = {
    "name": "alpha",
    "platform": "alpha-market",
    "start_urls": ["http://127.0.0.1:8700/classifieds/"],
    "allowed_domains": ["127.0.0.1"],
    "render": "browser",
    "schedule": "15 */6 * * *",
    "links": {"listings": {"allow": ["/classifieds/item/"]}},
}


@pytest.fixture(scope="module")
def repo_dagbag():
    from airflow.dag_processing.dagbag import DagBag

    settings = get_settings()
    return DagBag(str(settings.airflow.dags_folder))


def _source_yamls() -> dict[str, dict]:
    settings = get_settings()
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(settings.crawl.sources_dir.glob("*.y*ml"))
    }


def test_every_source_yaml_has_its_generated_dag_file() -> None:
    settings = get_settings()
    wanted = {path: text for path, text in expected_shims(settings).items()}
    present = {path: path.read_text(encoding="utf-8") for path in shim_dir(settings).glob("*.py")}
    assert present == wanted, "run `listingwatch airflow sync-dags` and commit dags/sources/"


def test_repository_dags_import_without_errors(repo_dagbag) -> None:
    assert repo_dagbag.import_errors == {}
    expected = {f"crawl_{name}" for name in _source_yamls()} | {"recheck_flagged", "retrain_model", "takedown_checks"}
    assert set(repo_dagbag.dag_ids) == expected


def test_every_dag_has_owner_tags_retries_and_no_cycle(repo_dagbag) -> None:
    owner = get_settings().airflow.owner
    for dag in repo_dagbag.dags.values():
        assert "listingwatch" in dag.tags, dag.dag_id
        assert dag.owner == owner, dag.dag_id
        dag.check_cycle()
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id}"
            assert task.retry_exponential_backoff > 0, f"{dag.dag_id}.{task.task_id}"


def test_source_dags_take_schedule_and_pool_from_their_yaml(repo_dagbag) -> None:
    settings = get_settings()
    for name, raw in _source_yamls().items():
        dag = repo_dagbag.dags[f"crawl_{name}"]
        enabled = raw.get("enabled", True)
        adaptive = "schedule_min" in raw
        wanted = (
            find_source(settings.crawl.sources_dir, name).schedule_min if adaptive else raw.get("schedule", "@daily")
        )
        assert dag.schedule == (wanted if enabled else None), name
        crawl = dag.get_task("crawl")
        browser = raw.get("render", "http") == "browser"
        assert (crawl.pool == settings.airflow.browser_pool) is browser, name
        steps = ["crawl", "classify", "index", "publish_summary", "alerts"]
        assert [t.task_id for t in dag.topological_sort()] == (["due", *steps] if adaptive else steps), name


def test_broken_source_yaml_is_one_import_error_and_spares_the_others(tmp_path: Path, monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    sources, dags = tmp_path / "sources", tmp_path / "dags"
    sources.mkdir()
    (sources / "alpha.yaml").write_text(yaml.safe_dump(VALID_SOURCE), encoding="utf-8")
    (sources / "beta.yaml").write_text(yaml.safe_dump({**VALID_SOURCE, "name": "beta", "render": "http"}))
    (sources / "broken.yaml").write_text("name: broken\nplatform: x\nstart_urls: [not-a-url]\n", encoding="utf-8")
    monkeypatch.setenv("LISTINGWATCH_CRAWL__SOURCES_DIR", str(sources))
    monkeypatch.setenv("LISTINGWATCH_AIRFLOW__DAGS_FOLDER", str(dags))
    get_settings.cache_clear()
    try:
        report = sync_dag_files(load_settings())
        bag = DagBag(str(dags))
    finally:
        get_settings.cache_clear()

    assert sorted(report.created) == ["alpha", "beta", "broken"]
    assert set(bag.dag_ids) == {"crawl_alpha", "crawl_beta"}
    assert list(bag.import_errors) == [str(dags / "sources" / "broken.py")]
    error = next(iter(bag.import_errors.values()))
    assert "broken.yaml" in error and "start_urls" in error
    assert bag.dags["crawl_alpha"].schedule == "15 */6 * * *"
    assert bag.dags["crawl_alpha"].get_task("crawl").pool == load_settings().airflow.browser_pool


def test_sync_removes_dag_files_of_deleted_sources_and_keeps_hand_written_ones(tmp_path: Path) -> None:
    sources, dags = tmp_path / "sources", tmp_path / "dags"
    sources.mkdir()
    (sources / "alpha.yaml").write_text(yaml.safe_dump(VALID_SOURCE), encoding="utf-8")
    settings = load_settings(crawl={"sources_dir": sources}, airflow={"dags_folder": dags})
    assert sync_dag_files(settings).created == ["alpha"]
    assert sync_dag_files(settings).created == []
    (dags / "sources" / "custom.py").write_text('"""A hand-written DAG file."""\n', encoding="utf-8")
    (sources / "alpha.yaml").unlink()
    report = sync_dag_files(settings)
    assert report.removed == ["alpha"]
    assert sorted(p.name for p in (dags / "sources").glob("*.py")) == ["custom.py"]
