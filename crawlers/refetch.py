"""Fetch one URL a source already crawled again, as that source's crawler would, and nothing more.

The re-check of flagged listings and the takedown removal checks ask the same question of
hostile URLs on a schedule, so both go through this one re-fetcher, bounded like the crawl:

- **The source's network path.** Requests go through the source's proxy and no other (a
  market crawled over Tor is re-checked over Tor; environment proxy variables are ignored),
  with the source's user agent. An ``.onion`` URL of a source without a proxy is refused.
- **Its origins and no private network.** Every hop, redirects included, must pass the
  source's allowed origins (`crawlers.origins`), and every address it connects to must be
  public: private, loopback, link-local, shared (100.64/10), multicast and reserved
  addresses are refused unless the source's or the settings' `private_networks` list them
  (the local demo sites on 127.0.0.1 do). Names are resolved here and each resolved address
  checked, then the connection is made to the address that was checked, so a name that
  resolves differently a second time cannot slip past. Through a proxy, names are resolved
  by the proxy (Tor refuses private destinations itself); an address written in the URL is
  still checked.
- **Its limits.** At most `crawl.max_redirects` redirects, `limits.max_page_bytes` per
  response, and one wall-clock deadline (`limits.timeout_s`, else `crawl.download_timeout`)
  for the whole fetch, so a page that drips a byte a second is cut off.
- **Its politeness.** A `Refetcher` waits the source's `download_delay` between its fetches.
"""

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from core.settings import Settings
from crawlers.evidence import Capture, WarcWriter
from crawlers.origins import OriginPolicy
from crawlers.sources import SourceConfig

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Hop:
    """One request and its response as sent and received (body decoded, capped), for WARC capture."""

    url: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    charset: str | None = None
    truncated: bool = False


@dataclass(frozen=True)
class Refetched:
    """Every hop in order (redirects first); the last is the page."""

    hops: list[Hop]

    @property
    def final(self) -> Hop:
        return self.hops[-1]

    @property
    def html(self) -> str:
        try:
            return self.final.body.decode(self.final.charset or "utf-8", errors="replace")
        except LookupError:
            return self.final.body.decode("utf-8", errors="replace")


class RefetchError(Exception):
    """The fetch gave no page to judge; `hops` holds what it did receive (a redirect to a refused place)."""

    def __init__(self, message: str, hops: Iterable[Hop] = ()) -> None:
        super().__init__(message)
        self.hops = list(hops)


class Refused(RefetchError):
    """A URL, redirect target or address this source may not reach."""


def _address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def why_not_public(address: IPAddress, allowed: Iterable[IPNetwork]) -> str | None:
    """None when `address` may be fetched; else what kind of address it is."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    if address.is_global and not address.is_multicast:
        return None
    kinds = (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_private", "private"),
    )
    kind = next((name for attr, name in kinds if getattr(address, attr)), "not a public")
    return f"{address} is a {kind} address (list its network under private_networks to allow it)"


class _CheckedBackend(httpcore.SyncBackend):
    """Resolve each host once, refuse it if any of its addresses is not public, connect to the checked one."""

    def __init__(self, allowed: list[IPNetwork]) -> None:
        self.allowed = allowed

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            raise httpcore.ConnectError(f"{host} does not resolve ({err})") from None
        addresses = [a for a in (_address(str(info[4][0])) for info in infos) if a is not None]
        for address in addresses:
            if reason := why_not_public(address, self.allowed):
                raise Refused(f"{host} resolves to {reason}")
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)


def _client(source: SourceConfig, allowed: list[IPNetwork]) -> httpx.Client:
    if source.proxy:
        # The proxy is the source's own configuration; names go to it unresolved (socks5h, HTTP CONNECT).
        return httpx.Client(proxy=source.proxy, trust_env=False)
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend, so its pool is rebuilt with the checking one (same SSL defaults).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=_CheckedBackend(allowed)
    )
    return httpx.Client(transport=transport, trust_env=False)


@dataclass
class Refetcher:
    """Re-fetches for one source: its proxy, user agent, origins, limits and delay. Use as a context manager."""

    source: SourceConfig
    settings: Settings
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _last: float | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def allowed_networks(self) -> list[IPNetwork]:
        return [*self.source.private_networks, *self.settings.crawl.private_networks]

    @property
    def timeout(self) -> float:
        return self.source.limits.timeout_s or self.settings.crawl.download_timeout

    @property
    def max_bytes(self) -> int:
        return self.source.limits.max_page_bytes or self.settings.crawl.max_page_bytes

    @property
    def user_agent(self) -> str:
        return self.source.politeness.user_agent or self.settings.crawl.user_agent

    def why_refused(self, url: str) -> str | None:
        """None when `url` may be requested; checked before every hop (addresses again at connect time)."""
        if reason := OriginPolicy.for_source(self.source, self.settings).why_refused(url):
            return reason
        host = (urlsplit(url).hostname or "").lower()
        if host.endswith(".onion") and not self.source.proxy:
            return f"{host} is an onion site and source {self.source.name} has no proxy (set proxy: for Tor)"
        address = _address(host)
        return why_not_public(address, self.allowed_networks) if address is not None else None

    def fetch(self, url: str, deadline: float | None = None) -> Refetched:
        """GET `url`, following allowed redirects, before `deadline` (a `time.monotonic()` value) at the latest.

        Raises `Refused` for a URL or hop this source may not reach and `RefetchError` for a
        fetch that did not finish (network error, deadline, too many redirects).
        """
        self._wait(deadline)
        own = time.monotonic() + self.timeout
        deadline = own if deadline is None else min(own, deadline)
        try:
            return self._follow(url, deadline)
        finally:
            self._last = time.monotonic()

    def _wait(self, deadline: float | None) -> None:
        """The source's delay since the last fetch, never past the caller's deadline (the run's bound)."""
        delay = self.source.politeness.download_delay
        if self._last is not None and delay:
            wait = self._last + delay - time.monotonic()
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
            time.sleep(max(0.0, wait))

    def _follow(self, url: str, deadline: float) -> Refetched:
        if self._client is None:
            self._client = _client(self.source, self.allowed_networks)
        hops: list[Hop] = []
        for _ in range(self.settings.crawl.max_redirects + 1):
            if reason := self.why_refused(url):
                what = "redirect to" if hops else "URL"
                raise Refused(f"{what} {url[:200]} refused: {reason}", hops)
            try:
                hop = self._one(url, deadline)
            except Refused as err:
                raise Refused(f"{url[:200]} refused: {err}", hops) from None
            except (httpx.HTTPError, TimeoutError) as err:
                raise RefetchError(f"{type(err).__name__}: {err}"[:500], hops) from None
            hops.append(hop)
            location = httpx.Headers(hop.response_headers).get("location")
            if hop.status not in _REDIRECTS or not location:
                return Refetched(hops)
            url = urljoin(url, location)
        raise RefetchError(f"more than {self.settings.crawl.max_redirects} redirects", hops)

    def _one(self, url: str, deadline: float) -> Hop:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer within {self.timeout:.0f}s")
        assert self._client is not None
        request = self._client.build_request("GET", url, headers={"User-Agent": self.user_agent}, timeout=left)
        response = self._client.send(request, stream=True)
        try:
            body = bytearray()
            truncated = False
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= self.max_bytes:
                    truncated = len(body) > self.max_bytes
                    del body[self.max_bytes :]
                    break
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"the page was still arriving after {self.timeout:.0f}s")
            return Hop(
                url=str(request.url),
                request_headers=list(request.headers.items()),
                status=response.status_code,
                reason=response.reason_phrase,
                response_headers=list(response.headers.items()),
                body=bytes(body),
                charset=response.charset_encoding,
                truncated=truncated,
            )
        finally:
            response.close()


def capture_hops(writer: WarcWriter, hops: list[Hop], protocol: str) -> Capture | None:
    """Write every hop of a re-fetch (redirects too: where a platform sent us is evidence) as WARC records.

    `protocol` names why the page was fetched again (a removal check, a logged-out capture); returns
    the last hop's capture, or None when there were no hops.
    """
    capture = None
    for hop in hops:
        capture = writer.capture(
            url=hop.url,
            method="GET",
            request_headers=hop.request_headers,
            request_body=b"",
            status=hop.status,
            reason=hop.reason,
            response_headers=hop.response_headers,
            body=hop.body,
            extra_headers={"WARC-Protocol": protocol},
        )
    return capture
