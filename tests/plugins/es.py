"""Fixtures for the es area: the real local Elasticsearch node and a throwaway index prefix.

The test node listens on its own port (``LISTINGWATCH_TEST_ES_PORT``, default 9210) so a
developer's demo node on 9200 is never touched; its data lives under ``var/es/<port>/`` and
a healthy node left over from an earlier run is reused. Each test session writes under a
prefix of its own (``test-<random>``) and deletes it at the end.
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from elasticsearch import Elasticsearch

from core.settings import Settings, load_settings
from index_config.client import get_client
from index_config.manage import delete_indices, init_indices
from index_config.node import node_status, start_node, stop_node

TEST_PORT = int(os.environ.get("LISTINGWATCH_TEST_ES_PORT", "9210"))


@dataclass
class NodeHandle:
    """The session's node; `stop`/`start` let fault tests take it down and bring it back."""

    settings: Settings
    started_here: bool

    def stop(self) -> None:
        assert stop_node(self.settings), "the test node was not started by listingwatch, so it cannot be stopped"

    def start(self) -> None:
        start_node(self.settings)


@pytest.fixture(scope="session")
def es_node() -> Iterator[NodeHandle]:
    settings = load_settings(es={"port": TEST_PORT, "transport_port": TEST_PORT + 100, "heap": "768m"})
    already = node_status(settings)["running"]
    start_node(settings)
    node = NodeHandle(settings=settings, started_here=not already)
    yield node
    if node.started_here:
        stop_node(settings)


@pytest.fixture(scope="session")
def es_settings(es_node: NodeHandle) -> Iterator[Settings]:
    """Settings on the test node with this session's own index prefix, indices created."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings = es_node.settings.model_copy(
        update={"es": es_node.settings.es.model_copy(update={"index_prefix": prefix})}
    )
    client = get_client(settings)
    init_indices(client, settings)
    yield settings
    delete_indices(get_client(settings), settings)


@pytest.fixture(scope="session")
def es_client(es_settings: Settings) -> Elasticsearch:
    return get_client(es_settings)
