"""The Scrapy components of `crawlers.proxy`: every request gets the proxy; browser crawls split by kind."""

from typing import Self

from scrapy import Request
from scrapy.core.downloader.handlers._httpx import HttpxDownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers.browser_handler import NavigationRouting, OnePerCrawler


class ProxyMiddleware:
    """Give every request the source's proxy (before Scrapy's HttpProxyMiddleware reads it)."""

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings["LISTINGWATCH_PROXY"])

    def process_request(self, request: Request) -> None:
        request.meta["proxy"] = self.proxy


class PlaywrightProxyHandler(OnePerCrawler, NavigationRouting, ScrapyPlaywrightDownloadHandler):
    """Browser requests through Chromium (launched with the proxy); robots.txt and photos through httpx.

    One instance serves http and https (`crawlers.browser_handler`): one Chromium per crawl.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._plain = HttpxDownloadHandler(crawler)

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright"):
            return await super().download_request(request)
        return await self._plain.download_request(request)

    async def close(self) -> None:
        if self._closed:
            return
        await self._plain.close()
        await super().close()
