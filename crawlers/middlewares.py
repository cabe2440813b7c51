"""Downloader middlewares: the origin check every request (redirects included) passes, WARC capture, the
exact page budget (``--max-pages``) and the login wall met as a redirect."""

from pathlib import Path
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.closespider import CloseSpider
from scrapy.http import Response

from crawlers.browser import full_page_png
from crawlers.evidence import Capture, WarcWriter
from crawlers.login import LOGIN_META, LOGIN_WALL_META
from crawlers.netcapture import Exchange, network_exchanges
from crawlers.origins import OriginPolicy

EVIDENCE_META = "listingwatch_evidence"
PHOTO_META = "listingwatch_photo"
# Browser pages: {url: (Exchange, Capture)} of the sub-resources archived with the page (photos reuse them).
SUBRESOURCES_META = "listingwatch_subresources_archived"
MAX_PAGES_SETTING = "LISTINGWATCH_MAX_PAGES"


def counts_as_page(request: Request) -> bool:
    """Pages are what a crawl is bounded by: not photos, robots.txt or the login form."""
    return not (request.meta.get(PHOTO_META) or request.meta.get(LOGIN_META) or request.url.endswith("/robots.txt"))


class PageBudgetReached(IgnoreRequest):
    """A request not sent because the crawl already sent its `max_pages` pages."""


class OriginOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite check (hosts) plus ports: only the source's own origins, never the index node.

    It runs in the downloader for every request, so a redirect to another port on an allowed
    host is refused before it is fetched or archived.
    """

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Scrapy's check, except that ``dont_filter`` does not exempt a request from it.

        Scrapy lets a ``dont_filter`` request leave the allowed domains. Ours set it only to pass
        the dupefilter (a page sent again after a re-login) or out of habit on direct downloads
        (photos, login pages), which never meet the dupefilter: as exempt, a listing's photo URL
        reached any host, the index node and private addresses included, and was archived as
        evidence. Only ``meta["allow_offsite"]`` (which nothing here sets) still exempts one.
        """
        super().process_request(request.replace(dont_filter=False) if request.dont_filter else request)

    def should_follow(self, request: Request, spider: Spider) -> bool:
        if not super().should_follow(request, spider):
            return False
        source: Any = getattr(spider, "source", None)
        if source is None:
            return True
        return OriginPolicy.in_crawl(source, self.crawler.settings).allows(request.url)


def _page_records(request: Request) -> tuple[list[Exchange], bytes | None]:
    """What a browser page's methods recorded: its network exchanges and its screenshot (when taken)."""
    exchanges: list[Exchange] = []
    screenshot: bytes | None = None
    for method in request.meta.get("playwright_page_methods", []):
        if method.method is network_exchanges and isinstance(method.result, list):
            exchanges = method.result
        elif method.method is full_page_png and isinstance(method.result, bytes):
            screenshot = method.result
    return exchanges, screenshot


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
        capture = None
        if browser:
            exchanges, screenshot = _page_records(request)
            self._refuse_offsite_hops(response, exchanges)
            capture = self._capture_browser(request, response, exchanges, screenshot)
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

    def _refuse_offsite_hops(self, response: Response, exchanges: list[Exchange]) -> None:
        """A tab follows redirects itself, past the downloader's origin check: a listing URL that
        redirected to the index node was archived as the listing, the node's answer as its page.
        Any hop of the navigation (or where it ended) outside the source's origins drops the page,
        nothing of it archived, as the redirect would have been refused in HTTP mode."""
        source: Any = getattr(self.crawler.spider, "source", None)
        if source is None:
            return
        policy = OriginPolicy.in_crawl(source, self.crawler.settings)
        for url in [response.url, *(e.url for e in exchanges if e.main)]:
            if (why := policy.why_refused(url)) is not None:
                self.stats.inc_value("offsite/filtered")
                raise IgnoreRequest(f"Filtered offsite request: the page was redirected to {url} ({why})")

    def _capture_browser(
        self, request: Request, response: Response, exchanges: list[Exchange], screenshot: bytes | None
    ) -> Capture | None:
        """Network exchanges + DOM + screenshot, when the page methods recorded them."""
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
        if counts_as_page(request):
            super().page_count(response, request, spider)


class PageBudgetMiddleware:
    """Sends at most `max_pages` pages, so ``--max-pages 20`` fetches 20 pages, not 20 plus all in flight.

    Scrapy's page-count close stops the crawl once N responses came back, but by then every request
    already handed to the downloader is fetched too. Counting at the downloader's door is exact: the
    requests past the budget are refused there (counted as ``skipped: max_pages``) and never fetched.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.sent = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getint(MAX_PAGES_SETTING))

    def process_request(self, request: Request) -> None:
        if not self.budget or not counts_as_page(request):
            return
        if self.sent >= self.budget:
            raise PageBudgetReached(f"max_pages ({self.budget}) reached")
        self.sent += 1


class LoginWallRedirectMiddleware:
    """A page that redirects to the login form is a login wall: keep the answer instead of following it.

    Followed, the redirect would become a second request for the login page, which the dupefilter
    drops as seen as soon as two pages share it; the page asked for would then be lost without a
    word. Kept, the spider sees the wall on the page it wanted, logs in again and asks for that page.
    Runs before RedirectMiddleware (a higher order number sees the response first).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        source: Any = getattr(self.crawler.spider, "source", None)
        login = getattr(source, "login", None)
        if login is None or response.status not in (301, 302, 303, 307, 308) or request.meta.get(LOGIN_META):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urlsplit(urljoin(request.url, location.decode("latin-1")))
        wall = urlsplit(login.url)
        if (target.hostname, target.port, target.path) == (wall.hostname, wall.port, wall.path):
            request.meta.update({"dont_redirect": True, LOGIN_WALL_META: True, "handle_httpstatus_all": True})
        return response
