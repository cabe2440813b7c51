"""Run machinery: one source's run, crawl -> classify new/changed -> index -> run summary.

Everything here is plain Python over `Settings` and files under ``var/pipeline/`` so the
same code runs from Airflow tasks (`listingwatch.orchestration`), from
`listingwatch run SOURCE` and from tests. Nothing here imports Airflow.
"""
