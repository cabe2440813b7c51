"""Scrapy's DNS resolver, remembering names that do not resolve and asking once for a name many requests want.

Scrapy caches the addresses it finds but not the names it fails to find (``TODO: cache misses`` in
``scrapy.resolver``), so every request to a host that does not resolve asks the resolver again,
and each retry asks once more. Listings link photos on image hosts that are gone (a shop's CDN
that expired, a host taken down): the local shop's photos sit on such a host, and its 100 listings
sent some 900 lookups for one dead name. Sent in bursts, lookups also meet resolvers that drop
part of them and answer after their own 5-second timeout; the crawl then waits for the slowest.

Here a name the resolver says does not exist (``EAI_NONAME``, ``EAI_NODATA``) fails at once for
`NEGATIVE_TTL_S`, and concurrent lookups of one name share a single query. A timeout or a
temporary failure is not remembered: the next request asks again, as before (a site's own name
must not fail a minute of pages for one lost packet). A name that comes back (DNS fixed, host
restored) is asked again after the TTL.
"""

import socket
from time import monotonic
from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

# How long a name that did not resolve keeps failing without a query: long enough that one dead
# host costs a crawl a query a minute rather than one per request, short enough to see it return.
NEGATIVE_TTL_S = 60.0

# How Twisted words an answer that the name does not exist: the getaddrinfo error inside its DNSLookupError.
_NO_SUCH_NAME = tuple(
    f"[Errno {code}]" for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
)


class NegativeCachingResolver(CachingThreadedResolver):
    """DNS_RESOLVER for every crawl (IPv4, `DNS_TIMEOUT` and the positive cache as Scrapy's default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed: dict[str, tuple[float, Failure]] = {}
        self._waiting: dict[str, list[Deferred[str]]] = {}

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:
        known = self.failed.get(name)
        if known is not None and monotonic() - known[0] < NEGATIVE_TTL_S:
            return defer.fail(known[1])
        answer: Deferred[str] = Deferred()
        waiting = self._waiting.get(name)
        if waiting is not None:  # a query for this name is out: share its answer
            waiting.append(answer)
            return answer
        self._waiting[name] = [answer]
        query = super().getHostByName(name, timeout)
        query.addCallbacks(self._answered, self._failed, callbackArgs=(name,), errbackArgs=(name,))
        return answer

    def _answered(self, address: str, name: str) -> None:
        self.failed.pop(name, None)
        for waiter in self._waiting.pop(name, []):
            waiter.callback(address)

    def _failed(self, failure: Failure, name: str) -> None:
        if any(code in failure.getErrorMessage() for code in _NO_SUCH_NAME):
            self.failed[name] = (monotonic(), failure)
        for waiter in self._waiting.pop(name, []):
            waiter.errback(failure)
