"""The pipeline the DAGs run: crawl -> classify new/changed -> index -> run summary.

Everything here is plain Python over `Settings` and files under ``var/pipeline/`` so the
same code runs from Airflow tasks, from `listingwatch run SOURCE` and from tests. Only
`dag_factory` imports Airflow, and `airflow_home` configures it before anyone does.
"""
