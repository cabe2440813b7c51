"""Network-level capture of browser pages: the bytes Chromium received, not the DOM it re-serialised.

A browser page's DOM (``page.content()``) is Chromium's re-serialisation: entities are
decoded (``&#x27;`` becomes ``'``), scripts have run. Evidence must show what the server
sent, so, as web archivists do (Browsertrix, pywb), every tab carries one ``response``
listener that keeps the main document's response and, up to a per-page budget, its
sub-resources, with their bodies and headers. The spider's requests install it through
scrapy-playwright's ``playwright_page_init_callback`` (run before each navigation) and
collect it with the `network_exchanges` page method (run last), so the exchanges travel
with the Scrapy response to the WARC middleware.
"""

import asyncio
import weakref
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import Response as PlaywrightResponse
from scrapy import Request

from crawlers.evidence import Exchange
from crawlers.login_session import apply_browser_session
from crawlers.origins import host_and_port

# request.meta key: the sub-resource budget for this page (count, bytes each) and the origins
# (``host:port``) never archived (the Elasticsearch node).
BUDGET_META = "listingwatch_subresources"
INIT_CALLBACK = "crawlers.netcapture.record_network"


@dataclass
class _Recorder:
    """One tab's exchanges since its last navigation.

    A page's sub-resources come from wherever it links them, and a hostile page can link the
    index node's API (``<img src="http://127.0.0.1:9200/_search">``): the tab loads it as any
    browser would, but nothing from a `denied` origin is archived, so it cannot reach a WARC
    or a takedown packet.
    """

    max_count: int = 0
    max_bytes: int = 0
    denied: frozenset[str] = frozenset()
    main: list[Exchange] = field(default_factory=list)
    sub: list[Exchange] = field(default_factory=list)
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    taken: int = 0

    def reset(self, max_count: int, max_bytes: int, denied: frozenset[str] = frozenset()) -> None:
        self.max_count, self.max_bytes, self.denied = max_count, max_bytes, denied
        self.main, self.sub, self.taken = [], [], 0
        for task in self.pending:
            task.cancel()
        self.pending = set()

    def on_response(self, response: PlaywrightResponse) -> None:
        request = response.request
        try:
            main = request.is_navigation_request() and response.frame == response.frame.page.main_frame
        except PlaywrightError:  # service-worker responses have no frame
            main = False
        if not main:
            if self.taken >= self.max_count or (self.denied and _denied(response.url, self.denied)):
                return
            self.taken += 1
        task = asyncio.ensure_future(self._keep(response, main))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _keep(self, response: PlaywrightResponse, main: bool) -> None:
        request = response.request
        declared = response.headers.get("content-length", "")  # no round trip: known from the event
        if not main and declared.isdigit() and int(declared) > self.max_bytes:
            return
        try:
            if main:  # the raw header lists as sent and received: three DevTools round trips, in parallel
                raw, raw_request, body = await asyncio.gather(
                    response.headers_array(), request.headers_array(), _body(response)
                )
                headers = [(h["name"], h["value"]) for h in raw]
                request_headers = [(h["name"], h["value"]) for h in raw_request]
            else:  # sub-resources: the headers the event already carried, and one round trip for the body
                body = await _body(response)
                headers, request_headers = list(response.headers.items()), list(request.headers.items())
        except PlaywrightError:  # the tab moved on or closed
            return
        if not main and len(body) > self.max_bytes:  # a chunked body over budget is dropped after the fact
            return
        exchange = Exchange(
            url=response.url,
            method=request.method,
            request_headers=request_headers,
            request_body=request.post_data_buffer or b"",
            status=response.status,
            reason=response.status_text,
            response_headers=headers,
            body=body,
            main=main,
        )
        (self.main if main else self.sub).append(exchange)

    async def drain(self) -> list[Exchange]:
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=10)
        out = [*self.main, *self.sub]
        self.reset(0, 0)
        return out


def _denied(url: str, denied: frozenset[str]) -> bool:
    try:
        host, port = host_and_port(url)
    except ValueError:  # not a port a request could have been sent to
        return False
    return f"{host}:{port}" in denied


async def _body(response: PlaywrightResponse) -> bytes:
    try:
        return await response.body()
    except PlaywrightError:  # redirects and aborted loads have no body
        return b""


_recorders: "weakref.WeakKeyDictionary[Page, _Recorder]" = weakref.WeakKeyDictionary()


async def record_network(page: Page, request: Request) -> None:
    """Page init callback: session cookies, then a fresh recording for this navigation (tabs are pooled)."""
    await apply_browser_session(page)
    recorder = _recorders.get(page)
    if recorder is None:
        recorder = _Recorder()
        _recorders[page] = recorder
        page.on("response", recorder.on_response)
    count, max_bytes, denied = request.meta.get(BUDGET_META, (0, 0, frozenset()))
    recorder.reset(count, max_bytes, denied)


async def network_exchanges(page: Page) -> list[Exchange]:
    """Last page method: the exchanges recorded since navigation, main document(s) first."""
    recorder = _recorders.get(page)
    return await recorder.drain() if recorder is not None else []
