"""Downloader middlewares: the origin check every request (redirects included) passes, and WARC capture."""

from pathlib import Path
from typing import Any, Self

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.extensions.closespider import CloseSpider
from scrapy.http import Response

from crawlers.browser import full_page_png
from crawlers.evidence import Capture, WarcWriter
from crawlers.netcapture import Exchange, network_exchanges
from crawlers.origins import OriginPolicy

EVIDENCE_META = "listingwatch_evidence"
PHOTO_META = "listingwatch_photo"
# Browser pages: {url: (Exchange, Capture)} of the sub-resources archived with the page (photos reuse them).
SUBRESOURCES_META = "listingwatch_subresources_archived"


class OriginOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite check (hosts) plus ports: only the source's own origins, never the index node.

    It runs in the downloader for every request, so a redirect to another port on an allowed
    host is refused before it is fetched or archived.
    """

    def should_follow(self, request: Request, spider: Spider) -> bool:
        if not super().should_follow(request, spider):
            return False
        source: Any = getattr(spider, "source", None)
        if source is None:
            return True
        denied = frozenset(self.crawler.settings.getlist("LISTINGWATCH_DENIED_ORIGINS"))
        return OriginPolicy(source, denied).allows(request.url)


class WarcCaptureMiddleware:
    """Sits after HttpCompression (so bodies are decoded) and before Retry/HttpError, so even a 500 is recorded."""

    def __init__(self, writer: WarcWriter, crawler: Crawler) -> None:
        self.writer = writer
        self.crawler = crawler
        assert crawler.stats is not None
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        writer = WarcWriter(
            Path(crawler.settings["LISTINGWATCH_WARC_DIR"]),
            crawler.settings["LISTINGWATCH_SOURCE_NAME"],
            crawler.settings.getint("LISTINGWATCH_WARC_MAX_BYTES"),
        )
        middleware = cls(writer, crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        # Credentials of a login-gated source are scrubbed from every request record.
        self.writer.secrets = getattr(self.crawler.spider, "secrets", [])
        browser = bool(request.meta.get("playwright"))
        capture = self._capture_browser(request, response) if browser else None
        if capture is None:
            capture = self.writer.capture(
                url=response.url,
                method=request.method,
                request_headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, vs in request.headers.items() for v in vs
                ],
                request_body=request.body or b"",
                status=response.status,
                response_headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs
                ],
                body=response.body,
                extra_headers={"WARC-Listingwatch-Render": "browser-dom"} if browser else None,
            )
        request.meta[EVIDENCE_META] = capture
        if not response.url.endswith("/robots.txt") and not request.meta.get(PHOTO_META):
            self.stats.inc_value("listingwatch/pages_fetched")
        return response

    def _capture_browser(self, request: Request, response: Response) -> Capture | None:
        """Network exchanges + DOM + screenshot, when the page methods recorded them."""
        exchanges: list[Exchange] = []
        screenshot: bytes | None = None
        for method in request.meta.get("playwright_page_methods", []):
            if method.method is network_exchanges and isinstance(method.result, list):
                exchanges = method.result
            elif method.method is full_page_png and isinstance(method.result, bytes):
                screenshot = method.result
        if not exchanges:
            return None
        page, resources = self.writer.capture_browser(
            exchanges, url=response.url, dom=response.body, screenshot=screenshot
        )
        bodies = {e.url: e for e in exchanges if not e.main}
        request.meta[SUBRESOURCES_META] = {url: (bodies[url], capture) for url, capture in resources.items()}
        return page

    def spider_closed(self) -> None:
        self.writer.close()
        self.stats.set_value("listingwatch/warc_files", [str(p) for p in self.writer.files])


class PageCountCloseSpider(CloseSpider):
    """Scrapy's CloseSpider, except that `max_pages` counts pages: listing photos are not pages."""

    def page_count(self, response: Response, request: Request, spider: Spider) -> None:
        if not request.meta.get(PHOTO_META):
            super().page_count(response, request, spider)
