"""Airflow DAG `retrain_model`: train and evaluate on demand; promote only a model that is no worse."""

from listingwatch.orchestration.dag_factory import retrain_dag

dag = retrain_dag()
