"""Airflow glue: the embedded Airflow home, the per-source DAG files and the DAG factory.

Only `dag_factory` imports Airflow, and `airflow_home` configures it before anyone does.
The tasks it builds call `listingwatch.runs` and `listingwatch.jobs`, never the reverse.
"""
