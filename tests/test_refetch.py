"""The one re-fetcher (re-check and removal checks): the source's proxy and user agent, every hop checked.

Real HTTP servers on loopback addresses stand in for the web. A site on 127.0.0.2 is the
"allowed" site of a source that lists exactly that address; a second server on 127.0.0.1
is what a hostile redirect aims at (the machine's own services), and it records every
request, so a refusal is proved by it never being asked.
"""

import gzip
import ipaddress
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from crawlers.evidence import WarcWriter
from crawlers.refetch import Refetcher, RefetchError, Refused, why_not_public
from crawlers.sources import SourceConfig
from takedown.removal import fetch as removal_fetch
from tests.socks_proxy import SocksProxy

PAGE = b"<html><body><h1>M30 blues</h1><p>pressed pills</p></body></html>"
ONION = "marketxyzabcdefghij.onion"


@dataclass
class Site:
    host: str
    port: int
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # (path, user agent, client port)
    redirects: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _serve(host: str) -> tuple[ThreadingHTTPServer, Site]:
    site = Site(host, 0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            site.seen.append((self.path, self.headers.get("User-Agent", ""), self.client_address[1]))
            if target := site.redirects.get(self.path):
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
                return
            body = b"<p>" + b"x" * 200_000 + b"</p>" if self.path == "/big" else PAGE
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, site


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    """(the source's site on 127.0.0.2, a service on 127.0.0.1 that redirects aim at)."""
    servers = [_serve("127.0.0.2"), _serve("127.0.0.1")]
    yield servers[0][1], servers[1][1]
    for server, _ in servers:
        server.shutdown()
        server.server_close()


def _source(site: Site, service: Site | None = None, **changes: object) -> SourceConfig:
    """A source of `site` whose allowed domains also name `service`, so only the address rule can refuse it."""
    also = [f"127.0.0.1:{service.port}", f"localhost:{service.port}"] if service else []
    base = {
        "name": "market",
        "platform": "p",
        "start_urls": [f"{site.url}/"],
        "allowed_domains": [site.host, *also, "169.254.169.254"],
        "private_networks": [f"{site.host}/32"],
        "links": {"listings": {}},
        "politeness": {"user_agent": "market-bot/2"},
    }
    return SourceConfig.model_validate(base | changes)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, crawl={"download_timeout": 5, "max_redirects": 3})


def test_an_allowed_local_source_is_fetched_with_its_own_user_agent(
    sites: tuple[Site, Site], settings: Settings
) -> None:
    site, _ = sites
    with Refetcher(_source(site), settings) as fetcher:
        page = fetcher.fetch(f"{site.url}/item/1")
    assert page.final.status == 200 and "M30 blues" in page.html
    assert site.seen == [("/item/1", "market-bot/2", site.seen[0][2])]


def test_by_default_loopback_is_refused_before_any_connection(sites: tuple[Site, Site], settings: Settings) -> None:
    _, service = sites
    source = _source(service, service, private_networks=[])
    with (
        Refetcher(source, settings) as fetcher,
        pytest.raises(Refused, match=re.escape("127.0.0.1 is a loopback address")),
    ):
        fetcher.fetch(f"{service.url}/item/1")
    assert service.seen == []


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://127.0.0.1:{port}/admin", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/admin", "localhost resolves to 127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused(
    sites: tuple[Site, Site], settings: Settings, target: str, why: str
) -> None:
    site, service = sites
    site.redirects["/item/2"] = target.format(port=service.port)
    with (
        Refetcher(_source(site, service), settings) as fetcher,
        pytest.raises(Refused, match=re.escape(why)) as refused,
    ):
        fetcher.fetch(f"{site.url}/item/2")
    assert service.seen == []
    assert [hop.status for hop in refused.value.hops] == [302]  # what the site said is kept, for the WARC


@pytest.mark.parametrize(
    ("address", "kind"),
    [("10.1.2.3", "private"), ("100.64.0.1", "not a public"), ("::ffff:169.254.1.1", "link-local"),
     ("fe80::1", "link-local"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified")],
)  # fmt: skip
def test_only_public_addresses_pass_unless_listed(address: str, kind: str) -> None:
    assert kind in (why_not_public(ipaddress.ip_address(address), []) or "")
    assert (
        why_not_public(ipaddress.ip_address(address), [ipaddress.ip_network("::/0"), ipaddress.ip_network("0.0.0.0/0")])
        is None
    )
    assert why_not_public(ipaddress.ip_address("93.184.215.14"), []) is None


def test_a_setting_can_allow_a_network_for_every_source(sites: tuple[Site, Site], tmp_path: Path) -> None:
    site, service = sites
    site.redirects["/item/3"] = f"{service.url}/item/3"
    settings = load_settings(home=tmp_path, crawl={"private_networks": ["127.0.0.0/8"]})
    with Refetcher(_source(site, service, private_networks=[]), settings) as fetcher:
        page = fetcher.fetch(f"{site.url}/item/3")
    assert [hop.status for hop in page.hops] == [302, 200] and [p for p, _, _ in service.seen] == ["/item/3"]


def test_redirects_stay_within_the_source_origins_and_the_limit(sites: tuple[Site, Site], settings: Settings) -> None:
    site, _ = sites
    site.redirects["/away"] = "http://elsewhere.example/"
    site.redirects |= {f"/loop/{n}": f"/loop/{n + 1}" for n in range(10)}
    with Refetcher(_source(site), settings) as fetcher:
        with pytest.raises(Refused, match=re.escape("elsewhere.example is not in allowed_domains")):
            fetcher.fetch(f"{site.url}/away")
        with pytest.raises(RefetchError, match="more than 3 redirects") as looped:
            fetcher.fetch(f"{site.url}/loop/0")
    assert len(looped.value.hops) == 4


def test_a_page_is_cut_at_the_source_size_cap(sites: tuple[Site, Site], settings: Settings) -> None:
    site, _ = sites
    with Refetcher(_source(site, limits={"max_page_bytes": 4096}), settings) as fetcher:
        page = fetcher.fetch(f"{site.url}/big")
    assert len(page.final.body) == 4096 and page.final.truncated


def test_an_onion_url_needs_the_source_proxy(sites: tuple[Site, Site], settings: Settings) -> None:
    site, _ = sites
    with Refetcher(_source(site, allowed_domains=[ONION]), settings) as fetcher, pytest.raises(Refused, match="proxy"):
        fetcher.fetch(f"http://{ONION}/item/1")


def test_an_onion_source_is_rechecked_through_its_proxy_into_the_warc(
    sites: tuple[Site, Site], settings: Settings, tmp_path: Path
) -> None:
    site, _ = sites
    site.redirects["/item/4"] = "/item/5"
    with SocksProxy({ONION: (site.host, site.port)}) as proxy:
        source = _source(site, allowed_domains=[ONION], proxy=proxy.url, private_networks=[])
        writer = WarcWriter(tmp_path / "warc", "removal-checks", 10_000_000)
        with Refetcher(source, settings) as fetcher:
            fetched = removal_fetch(f"http://{ONION}/item/4", fetcher, writer)
        writer.close()
    assert fetched.status == 200 and fetched.final_url == f"http://{ONION}/item/5" and "M30" in fetched.html
    assert {host for host, _ in proxy.connects} == {ONION}  # the name went to the proxy, never resolved here
    assert {port for _, _, port in site.seen} <= proxy.upstream_ports
    warc = gzip.decompress(writer.files[0].read_bytes())
    assert warc.count(b"WARC-Type: response") == 2 and b"market-bot/2" in warc


def test_fetches_of_one_source_wait_its_download_delay(
    sites: tuple[Site, Site], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, _ = sites
    waits: list[float] = []
    monkeypatch.setattr("crawlers.refetch.time.sleep", waits.append)
    with Refetcher(_source(site, politeness={"user_agent": "market-bot/2", "download_delay": 30}), settings) as fetcher:
        fetcher.fetch(f"{site.url}/item/1")
        fetcher.fetch(f"{site.url}/item/2")
        fetcher.fetch(f"{site.url}/item/3", deadline=time.monotonic() + 2)
    # None before the first fetch; then the delay less the time since, and never past a run's deadline.
    assert len(waits) == 2 and 25 < waits[0] <= 30 and 0 < waits[1] <= 2
    assert [path for path, _, _ in site.seen] == ["/item/1", "/item/2", "/item/3"]
