"""Nothing is lost: an unreachable node spools to disk, and replay delivers every record exactly once."""

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.schema import Listing
from core.settings import Settings
from index_config import spool
from index_config.client import get_client
from index_config.loader import load_jsonl, load_listings, replay_spool
from index_config.manage import listings_alias, observations_alias
from tests.index_data import T0, as_line, fresh_prefix, listing, write_jsonl
from tests.plugins.es import NodeHandle

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


def _ids(client: Elasticsearch, index: str) -> list[str]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, size=10_000, source=False, sort=["_doc"])["hits"]["hits"]
    return [h["_id"] for h in hits]


def _unreachable(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"es": settings.es.model_copy(update={"url": url})})


def test_node_stopped_mid_load_then_replay_delivers_every_record_once(settings: Settings, es_node: NodeHandle) -> None:
    total, stop_after = 3_000, 1_100
    client = get_client(settings, request_timeout=5)

    def landed() -> int:
        client.indices.refresh(index=listings_alias(settings))
        return int(client.count(index=listings_alias(settings))["count"])

    def crawl_output() -> Iterator[Listing]:
        for i in range(total):
            if i == stop_after:
                # The loader reads ahead of what it has sent: let the first batches land, then pull the plug.
                deadline = time.monotonic() + 60
                while landed() < settings.es.bulk_chunk_size and time.monotonic() < deadline:
                    time.sleep(0.1)
                es_node.stop()
            yield listing(i, T0 + timedelta(minutes=i))

    try:
        report = load_listings(crawl_output(), settings, client)
    finally:
        es_node.start()
    assert report.unavailable and report.read == total
    assert report.created >= settings.es.bulk_chunk_size and report.spooled >= total - stop_after
    assert report.created + report.spooled == total
    assert spool.pending(settings) == report.spooled

    replayed = replay_spool(settings, get_client(settings))

    assert replayed.read == report.spooled and not replayed.unavailable
    assert spool.pending(settings) == 0 and spool.segments(settings) == []
    expected = sorted(listing(i).id for i in range(total))
    fresh = get_client(settings)
    assert sorted(_ids(fresh, listings_alias(settings))) == expected
    observations = _ids(fresh, observations_alias(settings))
    assert len(observations) == len(set(observations)) == total


def test_unreachable_node_spools_everything_and_the_next_load_replays_it_first(
    settings: Settings, es_client: Elasticsearch, tmp_path: Path, closed_port_url: str
) -> None:
    down = _unreachable(settings, closed_port_url)
    path = write_jsonl(tmp_path / "crawl.jsonl", [as_line(listing(i)) for i in range(50)])
    report = load_jsonl(path, down, get_client(down, request_timeout=2))
    assert report.unavailable and report.spooled == 50 and report.created == 0
    assert spool.pending(settings) == 50  # the spool belongs to the prefix, not the endpoint

    recrawl = [listing(i, T0 + timedelta(days=1)) for i in range(50, 60)]
    report = load_listings(recrawl, settings, es_client)

    assert report.replay is not None and report.replay.created == 50
    assert report.created == 10 and spool.pending(settings) == 0
    assert len(_ids(es_client, listings_alias(settings))) == 60


def test_replaying_records_that_had_already_arrived_creates_nothing_twice(
    settings: Settings, es_client: Elasticsearch
) -> None:
    records = [listing(i) for i in range(25)]
    load_listings(records, settings, es_client)
    # A crash between the node's acknowledgement and the spool's cleanup leaves records behind.
    spool.append_segment(settings, (r.model_dump_json() for r in records))

    replayed = replay_spool(settings, es_client)

    assert replayed.unchanged == 25 and replayed.duplicate_observations == 25 and replayed.created == 0
    assert len(_ids(es_client, listings_alias(settings))) == 25
    assert len(_ids(es_client, observations_alias(settings))) == 25


def test_cli_load_reports_spooling_in_one_sentence_and_exits_3(
    settings: Settings, tmp_path: Path, closed_port_url: str
) -> None:
    path = write_jsonl(tmp_path / "crawl.jsonl", [as_line(listing(i)) for i in range(5)])
    down = _unreachable(settings, closed_port_url)
    env = {
        "PATH": "/usr/bin:/bin",
        "LISTINGWATCH_VAR_DIR": str(settings.var_dir),
        "LISTINGWATCH_ES__URL": down.es.url or "",
        "LISTINGWATCH_ES__INDEX_PREFIX": settings.es.index_prefix,
        "LISTINGWATCH_ES__REQUEST_TIMEOUT": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "listingwatch", "index", "load", str(path)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "was unreachable" in done.stderr and "listingwatch index replay" in done.stderr
    assert spool.pending(settings) == 5
