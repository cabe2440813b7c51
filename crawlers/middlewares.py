"""Downloader middlewares: the origin check every request (redirects included) passes, and WARC capture."""

from pathlib import Path
from typing import Any, Self

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector

from crawlers.evidence import WarcWriter
from crawlers.origins import OriginPolicy

EVIDENCE_META = "listingwatch_evidence"


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

    def __init__(self, writer: WarcWriter, stats: StatsCollector) -> None:
        self.writer = writer
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        writer = WarcWriter(
            Path(crawler.settings["LISTINGWATCH_WARC_DIR"]),
            crawler.settings["LISTINGWATCH_SOURCE_NAME"],
            crawler.settings.getint("LISTINGWATCH_WARC_MAX_BYTES"),
        )
        middleware = cls(writer, crawler.stats)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
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
            extra_headers={"WARC-Listingwatch-Render": "browser"} if request.meta.get("playwright") else None,
        )
        request.meta[EVIDENCE_META] = capture
        if not response.url.endswith("/robots.txt"):
            self.stats.inc_value("listingwatch/pages_fetched")
        return response

    def spider_closed(self) -> None:
        self.writer.close()
        self.stats.set_value("listingwatch/warc_files", [str(p) for p in self.writer.files])
