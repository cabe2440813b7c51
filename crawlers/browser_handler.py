"""One Playwright driver and one Chromium per crawl, for http and https alike.

Scrapy builds a download handler per URL scheme, and scrapy-playwright's handler is not lazy: mapped
to both ``http`` and ``https`` (as a browser source must be, since sites redirect between them), each
instance started its own Playwright driver and launched its own Chromium at start-up, and the second
browser sat idle for the whole crawl. On a small machine that cost about 2.5 CPU-seconds per crawl,
an eighth of a 100-page browser crawl (`benchmarks/bench_crawl.py`). Here both schemes get the same
instance, which closes once.
"""

import weakref
from typing import Self

from scrapy.crawler import Crawler
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

_shared: "weakref.WeakKeyDictionary[Crawler, OnePerCrawler]" = weakref.WeakKeyDictionary()


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


class SharedBrowserHandler(OnePerCrawler, ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, once per crawl (the proxy variant: `crawlers.proxy_handlers`)."""
