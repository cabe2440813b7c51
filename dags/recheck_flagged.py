"""Airflow DAG `recheck_flagged`: re-fetch flagged listings daily (still live? changed?)."""

from listingwatch.orchestration.dag_factory import recheck_dag

dag = recheck_dag()
