"""The crawl's DNS resolver: a name that does not exist is asked once a minute, concurrent lookups share one query."""

from collections.abc import Iterator

import pytest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from crawlers import resolver
from crawlers.resolver import NEGATIVE_TTL_S, NegativeCachingResolver


class Queries:
    """Stands in for the threaded lookup under the cache (pure logic: which names are asked, and when)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Deferred[str]]] = []

    def ask(self, name: str) -> Deferred[str]:
        answer: Deferred[str] = Deferred()
        self.asked.append((name, answer))
        return answer


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[Queries]:
    asked = Queries()
    monkeypatch.setattr(CachingThreadedResolver, "getHostByName", lambda _self, name, timeout=(): asked.ask(name))
    yield asked


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(resolver, "monotonic", lambda: now[0])
    return now


def _outcome(d: Deferred[str]) -> list[object]:
    got: list[object] = []
    d.addBoth(got.append)
    return got


def _no_such_name(name: str) -> Failure:
    # How Twisted's ThreadedResolver reports getaddrinfo's EAI_NONAME.
    return Failure(DNSLookupError(f"address {name!r} not found: [Errno -2] Name or service not known"))


def test_concurrent_lookups_of_one_name_share_one_query(queries: Queries, clock: list[float]) -> None:
    dns = NegativeCachingResolver(None, 0, 60.0)
    first, second = _outcome(dns.getHostByName("cdn.example")), _outcome(dns.getHostByName("cdn.example"))
    assert [name for name, _ in queries.asked] == ["cdn.example"]

    queries.asked[0][1].callback("192.0.2.7")
    assert first == second == ["192.0.2.7"]
    _outcome(dns.getHostByName("cdn.example"))
    assert len(queries.asked) == 2  # an address is not remembered here (Scrapy's own cache does, when enabled)


def test_a_name_that_does_not_exist_fails_at_once_until_the_ttl_passes(queries: Queries, clock: list[float]) -> None:
    dns = NegativeCachingResolver(None, 0, 60.0)
    waiting = [_outcome(dns.getHostByName("shop.invalid")) for _ in range(3)]
    queries.asked[0][1].errback(_no_such_name("shop.invalid"))
    assert all(isinstance(got[0], Failure) and got[0].check(DNSLookupError) for got in waiting)

    clock[0] += NEGATIVE_TTL_S - 1
    again = _outcome(dns.getHostByName("shop.invalid"))
    assert isinstance(again[0], Failure) and "Name or service not known" in again[0].getErrorMessage()
    assert len(queries.asked) == 1

    clock[0] += 2
    later = _outcome(dns.getHostByName("shop.invalid"))
    assert len(queries.asked) == 2 and later == []  # asked again: the host may be back
    queries.asked[1][1].callback("192.0.2.9")
    assert later == ["192.0.2.9"] and "shop.invalid" not in dns.failed


def test_a_timeout_is_not_remembered(queries: Queries, clock: list[float]) -> None:
    dns = NegativeCachingResolver(None, 0, 60.0)
    first = _outcome(dns.getHostByName("listings.example"))
    queries.asked[0][1].errback(Failure(DNSLookupError("address 'listings.example' not found: timeout error")))
    assert isinstance(first[0], Failure)

    _outcome(dns.getHostByName("listings.example"))
    assert len(queries.asked) == 2  # a lost packet must not fail a minute of the site's pages
