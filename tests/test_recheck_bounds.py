"""The re-check stays in bounds: a drip page, a redirect to another port, a source field holding a path, a slow run."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from core.errors import ConfigError
from core.schema import Listing
from core.settings import Settings, load_settings
from crawlers.sources import SourceConfig, source_by_name
from index_config.loader import load_listings
from listingwatch.jobs.recheck import recheck_dir, recheck_flagged, recheck_listing
from tests.index_data import fresh_prefix, listing

PAGE = b"<html><body><h1>M30 blues</h1><p>pressed pills</p></body></html>"


class _Handler(BaseHTTPRequestHandler):
    other_port = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/drip"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(120):  # one byte a second: never a read timeout, never done
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
        elif self.path.startswith("/hop"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.other_port}/secret")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int, list[str]]]:
    """(site port, other-service port, paths the other service was asked for)."""
    asked: list[str] = []

    class Other(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PAGE)

    other = ThreadingHTTPServer(("127.0.0.1", 0), Other)
    handler = type("Site", (_Handler,), {"other_port": other.server_address[1]})
    site = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    site.daemon_threads = other.daemon_threads = True
    for server in (site, other):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site.server_address[1], other.server_address[1], asked
    for server in (site, other):
        server.shutdown()


def _source(port: int) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "name": "market",
            "platform": "p",
            "start_urls": [f"http://127.0.0.1:{port}/"],
            "allowed_domains": ["127.0.0.1"],
            "private_networks": ["127.0.0.1/32"],
            "links": {"listings": {}},
            "fields": {"title": "h1", "description": "p"},
        }
    )


def _listing(port: int, path: str, **fields: object) -> Listing:
    return Listing(
        url=f"http://127.0.0.1:{port}{path}", source="market", platform="p", title="M30 blues",
        description="pressed pills", **fields,
    )  # fmt: skip


def test_a_page_that_drips_is_cut_off_at_the_download_timeout(servers: tuple[int, int, list[str]], tmp_path) -> None:
    port, _, _ = servers
    settings = load_settings(home=tmp_path, crawl={"download_timeout": 2})
    started = time.monotonic()
    result = recheck_listing(_listing(port, "/drip"), _source(port), settings)
    assert time.monotonic() - started < 10
    assert result.status == "unreachable" and "still arriving" in (result.detail or "")


def test_a_redirect_to_another_port_on_the_same_host_is_not_followed(
    servers: tuple[int, int, list[str]], tmp_path
) -> None:
    port, _, asked = servers
    result = recheck_listing(_listing(port, "/hop"), _source(port), load_settings(home=tmp_path))
    assert result.status == "unreachable" and "not an allowed origin" in (result.detail or "")
    assert asked == []
    assert recheck_listing(_listing(port, "/item/1"), _source(port), load_settings(home=tmp_path)).status == "live"


def test_sources_are_resolved_by_name_only(tmp_path: Path) -> None:
    evil = tmp_path / "elsewhere" / "evil.yaml"
    evil.parent.mkdir()
    evil.write_text("name: evil\n")
    (tmp_path / "sources").mkdir()
    for name in (str(evil), "../elsewhere/evil", "evil.yaml"):
        with pytest.raises(ConfigError):
            source_by_name(tmp_path / "sources", name)


@pytest.fixture
def settings(es_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path / "var") as fresh:
        yield fresh


@pytest.mark.integration
def test_a_slow_run_stops_at_its_bound_and_keeps_what_it_found(
    settings: Settings, es_client: Elasticsearch, servers: tuple[int, int, list[str]], tmp_path: Path
) -> None:
    port, _, _ = servers
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "market.yaml").write_text(
        json.dumps(_source(port).model_dump(mode="json", exclude_defaults=True) | {"name": "market"})
    )
    outside = tmp_path / "outside.yaml"
    outside.write_text((sources / "market.yaml").read_text())
    same = {"title": "M30 blues", "description": "pressed pills", "price": None}
    records = [  # re-checked in this order (least recently fetched first)
        listing(3, url=f"http://127.0.0.1:{port}/item/3", source=str(outside), **same),  # a path, not a name
        listing(1, url=f"http://127.0.0.1:{port}/item/1", source="market", **same),
        listing(2, url=f"http://127.0.0.1:{port}/drip", source="market", **same),
        listing(4, url=f"http://127.0.0.1:{port}/item/4", source="market", **same),
    ]
    load_listings([r.model_copy(update={"fetched_at": r.fetched_at.replace(hour=i)}) for i, r in enumerate(records)],
                  settings, es_client)  # fmt: skip
    es_client.indices.refresh(index=f"{settings.es.index_prefix}-listings")
    run = settings.model_copy(
        update={
            "crawl": settings.crawl.model_copy(update={"sources_dir": sources, "download_timeout": 3}),
        }
    )
    started = time.monotonic()
    report = recheck_flagged(run, key="bounded", limit=10, timeout_s=2)
    assert time.monotonic() - started < 15
    results = {
        r["url"].rsplit("/", 1)[1]: r["status"]
        for r in map(json.loads, (recheck_dir(run, "bounded") / "results.jsonl").read_text().splitlines())
    }
    assert results == {"3": "unknown_source", "1": "live", "drip": "unreachable", "4": "not_checked"}
    assert report.counts == {"live": 1, "not_checked": 1, "unknown_source": 1, "unreachable": 1}


def test_the_recheck_task_has_an_execution_timeout_past_its_own_bound(tmp_path: Path) -> None:
    from datetime import timedelta

    from listingwatch.orchestration.dag_factory import recheck_dag

    settings = load_settings(home=tmp_path, airflow={"recheck_timeout_minutes": 7})
    (task,) = recheck_dag(settings).tasks
    assert task.execution_timeout is not None and task.execution_timeout > timedelta(minutes=7)
