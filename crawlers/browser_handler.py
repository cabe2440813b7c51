"""One Playwright driver and one Chromium per crawl, for http and https alike; only navigations intercepted.

Scrapy builds a download handler per URL scheme, and scrapy-playwright's handler is not lazy: mapped
to both ``http`` and ``https`` (as a browser source must be, since sites redirect between them), each
instance started its own Playwright driver and launched its own Chromium at start-up, and the second
browser sat idle for the whole crawl. On a small machine that cost about 2.5 CPU-seconds per crawl,
an eighth of a 100-page browser crawl (`benchmarks/bench_crawl.py`). Here both schemes get the same
instance, which closes once.

scrapy-playwright routes every request of a page through its handler (``page.route("**")``) to give
the Scrapy request's method, body and headers to the one navigation that request stands for. Each
script, XHR and image then paused in Chromium and made a round trip through the driver to Python and
back only to be continued unchanged (the crawl sets no ``PLAYWRIGHT_ABORT_REQUEST``, and
`crawlers.browser.request_headers` leaves sub-resources' headers alone). The handler here lifts the
route once the page's own navigation has been handed on, so the rest of the page loads as the
browser sends it.
"""

import weakref
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Self

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import Route
from scrapy.crawler import Crawler
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

_shared: "weakref.WeakKeyDictionary[Crawler, OnePerCrawler]" = weakref.WeakKeyDictionary()

RouteHandler = Callable[[Route, PlaywrightRequest], Awaitable[None]]


class OnePerCrawler:
    """Mixin: `from_crawler` returns the crawler's existing instance; `close` runs once."""

    _closed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        handler = _shared.get(crawler)
        if not isinstance(handler, cls):
            handler = cls(crawler)  # type: ignore[call-arg]
            _shared[crawler] = handler
        return handler

    async def close(self) -> None:
        if self._closed:  # Scrapy closes the handler of each scheme: the same one here
            return
        self._closed = True
        await super().close()  # type: ignore[misc]


def navigation_only(handler: RouteHandler) -> RouteHandler:
    """The route handler, removed from the page once the page's main-frame navigation has passed it."""

    async def route_navigation(route: Route, request: PlaywrightRequest) -> None:
        await handler(route, request)
        if request.is_navigation_request():
            with suppress(PlaywrightError):  # a frame already detached, a page already closed: nothing left to route
                frame = request.frame
                if frame.parent_frame is None:
                    await frame.page.unroute("**", route_navigation)

    return route_navigation


class NavigationRouting:
    """Mixin for scrapy-playwright handlers: intercept a page's navigation, not everything it loads."""

    def _make_request_handler(self, *args: Any, **kwargs: Any) -> RouteHandler:
        return navigation_only(super()._make_request_handler(*args, **kwargs))  # type: ignore[misc]


class SharedBrowserHandler(OnePerCrawler, NavigationRouting, ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, once per crawl (the proxy variant: `crawlers.proxy_handlers`)."""
