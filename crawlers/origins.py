"""Which origins (scheme, host, port) a source may fetch from, for the crawler and the re-check alike.

`allowed_domains` names hosts; a host named with a port (``127.0.0.1:8791``) allows that
port only, and a bare host allows the ports its start URLs use (80 and 443 when they give
none). So a redirect from an allowed host to another service on the same machine (the
Elasticsearch node on 127.0.0.1:9200, say) is refused rather than archived as evidence. The
node the pipeline writes to is never an allowed origin, whatever a source says.
"""

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.settings import Settings
from crawlers.sources import SourceConfig

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# The Scrapy setting a crawl carries `denied_origins` in.
DENIED_SETTING = "LISTINGWATCH_DENIED_ORIGINS"


def host_and_port(url: str) -> tuple[str, int]:
    """The URL's host (lower case) and port (the scheme's default when none is given); ValueError if the port
    is not a number."""
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def denied_origins(settings: Settings) -> list[str]:
    """``host:port`` of every Elasticsearch node the settings name (each loopback spelling of a local one)."""
    denied: list[str] = []
    for endpoint in [h.rstrip("/") for h in settings.es.hosts] or [settings.es.endpoint]:
        host, port = host_and_port(endpoint)
        hosts = _LOOPBACK_NAMES if _is_loopback(host) else (host,)
        denied += [f"{h}:{port}" for h in hosts if f"{h}:{port}" not in denied]
    return denied


@dataclass(frozen=True)
class OriginPolicy:
    source: SourceConfig
    denied: frozenset[str] = frozenset()

    @classmethod
    def for_source(cls, source: SourceConfig, settings: Settings) -> "OriginPolicy":
        return cls(source, frozenset(denied_origins(settings)))

    @classmethod
    def in_crawl(cls, source: SourceConfig, crawl_settings: Any) -> "OriginPolicy":
        """The policy inside a running crawl, whose Scrapy settings carry the denied origins."""
        return cls(source, frozenset(crawl_settings.getlist(DENIED_SETTING)))

    def why_refused(self, url: str) -> str | None:
        """None when `url` may be fetched, else a short reason (for logs and re-check results)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"scheme {parts.scheme or 'none'} is not http(s)"
        try:
            host, port = host_and_port(url)
        except ValueError:
            return "the port is not a number"
        if f"{host}:{port}" in self.denied:
            return f"{host}:{port} is the Elasticsearch node"
        if not any(host == h or host.endswith("." + h) for h in self.source.allowed_hosts):
            return f"{host} is not in allowed_domains"
        if port not in self.source.allowed_ports(host):
            return f"port {port} of {host} is not an allowed origin (add '{host}:{port}' to allowed_domains)"
        return None

    def allows(self, url: str) -> bool:
        return self.why_refused(url) is None
