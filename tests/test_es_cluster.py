"""A real three-node cluster with security on: loading and search carry on while one node is down and back."""

from pathlib import Path

import pytest

from index_config.client import get_client
from index_config.loader import load_listings
from index_config.manage import delete_indices, init_indices, listings_alias, observations_alias
from index_config.node import is_local, node_status
from tests.index_data import listing
from tests.plugins.es_cluster import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = 150


def _ids(client, alias: str) -> set[str]:
    client.indices.refresh(index=alias)
    hits = client.search(index=alias, query={"match_all": {}}, size=10_000, source=False)["hits"]["hits"]
    return {hit["_id"] for hit in hits}


def test_cluster_keeps_loading_and_searching_while_a_node_restarts(es_cluster: Cluster, tmp_path: Path) -> None:
    settings = es_cluster.settings(tmp_path / "var", shards=2, replicas=1, index_prefix="cluster")
    assert not is_local(settings)
    status = node_status(settings)  # the node manager's probe: same hosts, CA and password as the client
    assert status["health"] == "green" and not status["managed"]

    client = get_client(settings)
    created = init_indices(client, settings)
    index = created["listings"]["index"]
    sizing = client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert (sizing["number_of_shards"], sizing["number_of_replicas"]) == ("2", "1")
    es_cluster.wait_for(nodes=3)

    expected: set[str] = set()
    batches = iter(range(0, 3 * BATCH, BATCH))

    def load_next() -> None:
        start = next(batches)
        items = [listing(i) for i in range(start, start + BATCH)]
        report = load_listings(items, settings, client=client)
        assert (report.created, report.spooled, report.failed, report.unavailable) == (BATCH, 0, 0, False)
        expected.update(item.id for item in items)

    load_next()
    victim = es_cluster.nodes[0]  # the first host in the client's list: every request must fail over
    es_cluster.stop(victim)
    assert es_cluster.health(victim) is None
    es_cluster.wait_for(nodes=2, status=("yellow", "green"))

    load_next()  # a whole batch while one node is down
    assert _ids(client, listings_alias(settings)) == expected
    flagged = client.count(index=listings_alias(settings), query={"term": {"classification.flagged": True}})
    assert flagged["count"] == len(expected)

    es_cluster.start(victim)
    es_cluster.wait_for(nodes=3)
    load_next()

    assert _ids(client, listings_alias(settings)) == expected
    client.indices.refresh(index=observations_alias(settings))  # a count sees only refreshed writes
    assert client.count(index=observations_alias(settings))["count"] == len(expected) == 3 * BATCH
    delete_indices(client, settings)
