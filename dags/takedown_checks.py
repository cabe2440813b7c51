"""Airflow DAG `takedown_checks`: re-fetch reported listings (hourly on day one, then daily)."""

from listingwatch.orchestration.dag_factory import takedown_dag

dag = takedown_dag()
