"""Sources behind a proxy: every request (pages, robots.txt, photos, browser sub-resources) goes through it.

The local site is served on 127.0.0.1 but named ``market.onion``, a name only the test's
SOCKS5 proxy resolves: a request that went around the proxy could not even resolve. The
site's server also logs the source port of every connection, and each one must be a
connection the proxy opened.
"""

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings
from crawlers.run import run_crawl
from crawlers.sources import LinkRule, Links, SourceConfig
from listingwatch.demo.marketplaces.sites import SitesServer, start_sites
from tests.plugins.sites import demo_source, read_listings
from tests.socks_proxy import SocksProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ONION = "marketxyzabcdefghij.onion"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@pytest.fixture
def onion_site() -> Iterator[tuple[SitesServer, SocksProxy]]:
    with start_sites() as server:
        host, port = server.url.removeprefix("http://").split(":")
        with SocksProxy({ONION: (host, int(port))}) as proxy:
            yield server, proxy


def _onion_source(server: SitesServer, proxy: SocksProxy, render: str) -> SourceConfig:
    base = demo_source("classifieds", server).model_dump()
    base.update(
        name=f"onion-{render}",
        render=render,
        proxy=proxy.url,
        start_urls=[f"http://{ONION}/classifieds/"],
        allowed_domains=[ONION],
        links=Links(
            listings=LinkRule(restrict_css=["ul.ads"], allow=[r"/classifieds/item/[1-4]$"]),
            next_pages=LinkRule(allow=["$^"]),
        ).model_dump(),
    )
    return SourceConfig.model_validate(base)


@pytest.mark.parametrize("render", ["http", "browser"])
def test_every_request_goes_through_the_proxy(
    onion_site: tuple[SitesServer, SocksProxy], crawl_settings: Settings, tmp_path: Path, render: str
) -> None:
    server, proxy = onion_site
    output = tmp_path / "onion.jsonl"
    report = run_crawl(_onion_source(server, proxy, render), crawl_settings, output=output, timeout_s=90)
    listings = read_listings(output)
    assert report.errors == [] and len(listings) == 4
    assert all(item.url.startswith(f"http://{ONION}/") for item in listings)
    assert sum(len(item.photos) for item in listings) > 0
    assert server.hits["/robots.txt"] == 1 and any(p.startswith("/static/img/") for p in server.hits)
    # Names were resolved by the proxy (never an IP the crawler looked up itself). Chromium's own
    # background calls (component updates) also went through the proxy, never around it.
    hosts = {host for host, _ in proxy.connects}
    assert ONION in hosts and not any(_is_ip(host) for host in hosts)
    # ... and every connection the site saw was one the proxy opened.
    assert server.client_ports and server.client_ports <= proxy.upstream_ports


def test_onion_sites_need_a_resolving_proxy(sites: SitesServer) -> None:
    base = demo_source("classifieds", sites).model_dump()
    base.update(start_urls=[f"http://{ONION}/"], allowed_domains=[ONION])
    with pytest.raises(ValidationError, match="onion site: set proxy"):
        SourceConfig.model_validate(base)
    with pytest.raises(ValidationError, match="socks5h"):
        SourceConfig.model_validate({**base, "proxy": "socks5://127.0.0.1:9050"})
    with pytest.raises(ValidationError, match="scheme://host:port"):
        SourceConfig.model_validate({**base, "proxy": "tor"})
    assert SourceConfig.model_validate({**base, "proxy": "socks5h://127.0.0.1:9050"}).proxy
