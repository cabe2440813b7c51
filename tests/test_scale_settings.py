"""The scale-out settings fail early with one sentence, and map onto Airflow's own variables."""

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings
from listingwatch.orchestration.airflow_home import airflow_environment


def test_redis_frontier_without_a_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"crawl.*redis_url"):
        load_settings(crawl={"frontier": "redis"})


def test_celery_needs_postgres_and_a_broker() -> None:
    with pytest.raises(ConfigError, match=r"database_url and airflow\.broker_url"):
        load_settings(airflow={"executor": "CeleryExecutor"})
    with pytest.raises(ConfigError, match="not SQLite"):
        load_settings(
            airflow={"executor": "CeleryExecutor", "database_url": "sqlite:///x.db", "broker_url": "redis://r:6379/1"}
        )


def test_production_profile_becomes_airflow_variables() -> None:
    settings = load_settings(
        airflow={
            "executor": "CeleryExecutor", "database_url": "postgresql+psycopg2://a:b@pg:5432/airflow",
            "broker_url": "redis://:pw@redis:6379/1", "execution_api_url": "http://api:8080/execution/",
            "worker_concurrency": 6,
        }
    )  # fmt: skip
    env = airflow_environment(settings)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://a:b@pg:5432/airflow"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:pw@redis:6379/1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api:8080/execution/"
    assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "6"
    embedded = airflow_environment(load_settings())
    assert not any(k in embedded for k in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"))


def test_a_misspelt_key_in_the_config_file_is_named_with_every_other_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "listingwatch.yaml"
    config.write_text("es:\n  endpoint: http://es.internal:9200\ncrawl:\n  concurency: 4\nweb:\n  port: 0\n")
    monkeypatch.setenv("LISTINGWATCH_CONFIG", str(config))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "es.endpoint: not a known key" in message  # was silently ignored: the local node was used
    assert "crawl.concurency: not a known key" in message
    assert "web.port" in message  # every problem at once, not the first and a count
    assert str(config) in message and "\n" not in message


@pytest.mark.parametrize(
    "arg",
    [
        "--disable-features=LocalNetworkAccessChecks",
        "--disable-features=Foo,PrivateNetworkAccessChecks",
        "--disable-web-security",
    ],
)
def test_browser_switches_that_let_pages_reach_the_crawlers_network_are_refused(arg: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(crawl={"browser_args": ["--no-first-run", arg]})
    assert f"crawl.browser_args: {arg} would let crawled pages reach the crawler's network" in str(caught.value)
    assert load_settings(crawl={"browser_args": ["--disable-features=Translate"]}).crawl.browser_args
