"""Reuse browser tabs across listing pages instead of opening and closing one per page.

scrapy-playwright opens a fresh tab per request; on a small machine the tab set-up and
tear-down is a large share of the per-page time (`benchmarks/bench_crawl.py` measures the
browser crawl). Listing requests ask to keep their page
(``playwright_include_page``); the spider hands it back here as soon as the response is read
(the body and screenshot are already captured), and the middleware gives idle tabs to the
next requests through scrapy-playwright's documented ``playwright_page`` meta key.

A tab is only handed out when a request enters the downloader, and a request that got none
opens a fresh tab under scrapy-playwright's per-context page limit. Idle tabs must therefore
never use up that limit: the pool keeps at most `capacity` idle tabs and closes the rest
(`browser_page_limit` sizes the context limit above it), otherwise requests that found the
pool empty would wait forever for a slot held by tabs nobody can use.
"""

import asyncio
from typing import Self

from playwright.async_api import Page
from scrapy import Request
from scrapy.crawler import Crawler


def browser_page_limit(capacity: int) -> int:
    """PLAYWRIGHT_MAX_PAGES_PER_CONTEXT for a pool of `capacity` idle tabs and as many in use."""
    return 2 * capacity + 1


class PagePool:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._idle: list[Page] = []
        self._closing: set[asyncio.Future[None]] = set()

    def acquire(self) -> Page | None:
        while self._idle:
            page = self._idle.pop()
            if not page.is_closed():
                return page
        return None

    def release(self, page: object) -> None:
        if not isinstance(page, Page) or page.is_closed() or page in self._idle:
            return
        if len(self._idle) < self.capacity:
            self._idle.append(page)
            return
        closing = asyncio.ensure_future(page.close())
        self._closing.add(closing)  # keep a reference until done, as asyncio requires
        closing.add_done_callback(self._closing.discard)


class PagePoolMiddleware:
    """Downloader middleware: attach an idle tab to listing requests that will keep their page."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        pool: PagePool | None = getattr(self.crawler.spider, "page_pool", None)
        if pool is None or not request.meta.get("playwright_include_page") or request.meta.get("playwright_page"):
            return
        if page := pool.acquire():
            if _same_document(page.url, request.url):
                # /item.html#3 -> /item.html#4 would only change the hash: a hash-routed app that reads
                # its route on load would keep showing item 3. Leave the document so the next one loads.
                await page.goto("about:blank")
            request.meta["playwright_page"] = page


def _same_document(current: str, target: str) -> bool:
    """Whether going from `current` to `target` is a same-document (fragment-only) navigation."""
    before, _, _ = current.partition("#")
    after, hashed, _ = target.partition("#")
    return bool(hashed) and before == after
