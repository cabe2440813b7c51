"""Test session setup shared by every area.

Airflow reads AIRFLOW_HOME at its first import, so a throwaway home is set here before
anything imports it. Each area keeps its fixtures in a plugin module under
`tests/plugins/` (Elasticsearch node, local sites, trained model, Airflow).
"""

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="listingwatch-airflow-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = [
    "tests.plugins.es",
    "tests.plugins.sites",
    "tests.plugins.model",
    "tests.plugins.airflow",
    "tests.plugins.web",
    "tests.plugins.redis",
    "tests.plugins.es_cluster",
    "tests.plugins.postgres",
]
