"""The generic listing spider: index pages -> listing links (+ next pages) -> one `Listing` per listing page.

Everything site-specific comes from the `SourceConfig` passed in as JSON; browser-mode
sources get their waits, scrolls, clicks and a full-page screenshot via scrapy-playwright;
`api:` sources read the site's JSON API instead (list pages -> item replies -> listings).
Non-listing pages (bot challenges, login walls, errors) and failed requests are counted under
``listingwatch/skipped/<reason>`` and logged, never written as listings. A page that met the
login wall and could not be fetched after logging in again is also counted as lost
(``listingwatch/lost``), with its URL in the report.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import scrapy
from pydantic import ValidationError
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy_playwright.page import PageMethod
from twisted.python.failure import Failure

from core.schema import MAX_TEXT, MAX_TITLE, Evidence, Listing, Photo, Seller
from core.urls import canonical_url
from crawlers.browser import CLICK_JS, SCROLL_JS, full_page_png
from crawlers.evidence import Capture, save_screenshot
from crawlers.extract.api import api_fields, fill, list_url, load_json, read_list
from crawlers.extract.fields import PageFields, extract_fields, select_text
from crawlers.extract.pagekind import detect_page_kind
from crawlers.failures import UNREACHABLE, failure_reason
from crawlers.login import LOGIN_WALL_META, LoginError
from crawlers.login_session import GENERATION_META, RETRIES_META, LoginSession
from crawlers.middlewares import EVIDENCE_META, PHOTO_META, SUBRESOURCES_META
from crawlers.netcapture import BUDGET_META, INIT_CALLBACK, Exchange, network_exchanges
from crawlers.origins import OriginPolicy
from crawlers.pagepool import PagePool
from crawlers.photo_text import OcrQueue
from crawlers.photos import PhotoHasher
from crawlers.sources import LinkRule, SourceConfig, compile_link_pattern

FEED_TITLE_CHARS = 120
PHOTO_MEMO = 20_000  # photo URLs remembered per crawl (bounded memory; beyond it a reused photo is refetched)
MAX_LOST_URLS = 100  # lost pages named in the report (all are counted)


def _extractor(rule: LinkRule) -> LinkExtractor:
    """Scrapy's extractor with the URL patterns matched by RE2, so no pattern can backtrack on a hostile URL."""
    extractor = LinkExtractor(restrict_css=rule.restrict_css, restrict_xpaths=rule.restrict_xpaths)
    extractor.allow_res = [compile_link_pattern(p) for p in rule.allow]  # type: ignore[assignment]
    extractor.deny_res = [compile_link_pattern(p) for p in rule.deny]  # type: ignore[assignment]
    return extractor


async def _photo(
    url: str,
    body: bytes,
    content_type: str | None,
    capture: Capture,
    hasher: PhotoHasher,
    queue_for_ocr: Callable[[Capture], None],
) -> Photo:
    """The `Photo` record; one big enough to hold text is queued for OCR (read after the crawl: `photo_text`)."""
    facts = await hasher.analyse(body, capture.body_sha256)
    if facts.worth_reading:
        queue_for_ocr(capture)
    return Photo(
        url=url,
        sha256=capture.body_sha256,
        phash=facts.phash,
        width=facts.width,
        height=facts.height,
        content_type=content_type[:200] if content_type else None,
        warc_file=str(capture.warc_file),
        warc_offset=capture.offset,
        warc_record_id=capture.record_id,
    )


class ListingSpider(scrapy.Spider):
    name = "listing"

    def __init__(self, source: SourceConfig, screenshot_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.allowed_domains = self.source.allowed_hosts  # ports are checked by OriginOffsiteMiddleware
        self.screenshot_dir = Path(screenshot_dir)
        self.errors: list[str] = []
        self.lost_urls: list[str] = []
        self._keep_fragments = self.source.links.keep_fragments
        self._listing_links = _extractor(self.source.links.listings) if self.source.links.listings else None
        self._seen_posts: set[str] = set()
        self._photos_seen: dict[str, Photo] = {}
        self._hasher = PhotoHasher(memo=PHOTO_MEMO)
        # Photos to read by OCR once the fetch is done (sha256 -> WARC record); None when the source turns OCR off.
        self.ocr_queue: OcrQueue | None = {} if self.source.photos.ocr else None
        self.ocr_queue_cap = PHOTO_MEMO
        self.ocr_queue_full = 0  # photos that found the queue full: reported as not read, never dropped silently
        next_pages = self.source.links.next_pages
        self._next_links = _extractor(next_pages) if next_pages is not None else None
        if not self.source.follows_pages:
            self.logger.warning(
                "links.next_pages is not set for %s: only its start URLs are read as index pages", self.source.name
            )
        self._browser = self.source.uses_browser
        self.page_pool = PagePool(capacity=self.source.politeness.concurrency_per_domain)
        self.session: LoginSession | None = None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.source.login is not None:
            try:
                self.session = LoginSession(self.source.name, self.source.login, self.crawler)
                await self.session.login(0)
            except LoginError as err:
                self.errors.append(str(err))
                self.logger.error("%s", err)
                return
        if self.source.api is not None:
            yield self._api_list_request(list_url(self.source.api), None)
            return
        for url in self.source.start_urls:
            yield self._index_request(url)

    @property
    def secrets(self) -> list[bytes]:
        """Credential spellings the WARC writer scrubs from request records."""
        return self.session.secrets if self.session is not None else []

    def _at_login_wall(self, response: Response) -> bool:
        """A page of a login-gated source that shows (or redirected to) the login form instead of the page."""
        if self.session is None:
            return False
        if response.meta.get(LOGIN_WALL_META):
            return True
        if not isinstance(response, TextResponse):
            return False
        if detect_page_kind(response.status, response.url, response.text)[0] == "login_wall":
            return True
        self.session.progress()
        return False

    async def _after_login_wall(
        self, response: Response, rebuild: Callable[[str], scrapy.Request]
    ) -> scrapy.Request | None:
        """Log in again (once for all the requests that hit the wall) and send the page asked for again.

        The retry bypasses the dupefilter: the page was asked for but never seen. It is sent again at
        most ``login.max_relogins`` times; a page that still cannot be fetched is counted as lost.
        """
        assert self.session is not None
        tries = response.meta.get(RETRIES_META, 0)
        wanted = response.meta.get("redirect_urls", [response.request.url if response.request else response.url])[0]
        if tries >= self.session.config.max_relogins:
            self._lose("login_wall", wanted)
            return None
        try:
            await self.session.login(response.meta.get(GENERATION_META, 0))
        except LoginError as err:
            self._lose("login_failed", wanted)
            if str(err) not in self.errors:
                self.errors.append(str(err))
            return None
        request = rebuild(wanted).replace(dont_filter=True)
        request.meta[RETRIES_META] = tries + 1
        return request

    def _lose(self, reason: str, url: str) -> None:
        """A page the crawl wanted and could not fetch: counted and named, never silently dropped."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("listingwatch/lost")
        if len(self.lost_urls) < MAX_LOST_URLS:
            self.lost_urls.append(url)
        self._skip(reason, url)

    def _meta(self, methods: list[PageMethod], keep_page: bool = False) -> dict[str, Any]:
        if not self._browser:
            return {}
        budget = self.source.evidence
        return {
            "playwright": True,
            # Record the network before navigating; collect it after every other page method.
            "playwright_page_init_callback": INIT_CALLBACK,
            BUDGET_META: (budget.subresources, budget.subresource_max_bytes, self._origins.denied),
            "playwright_page_methods": [*methods, PageMethod(network_exchanges)],
            "playwright_include_page": keep_page,
        }

    def _index_request(self, url: str) -> scrapy.Request:
        actions = self.source.browser
        methods: list[PageMethod] = []
        if actions.wait_for:
            methods.append(PageMethod("wait_for_selector", actions.wait_for))
        if actions.scroll_times:
            methods.append(
                PageMethod("evaluate", SCROLL_JS, [actions.item_selector, actions.scroll_times, actions.scroll_wait_ms])
            )
        if actions.click_selector and actions.click_times:
            methods.append(
                PageMethod("evaluate", CLICK_JS, [actions.click_selector, actions.click_times, actions.scroll_wait_ms])
            )
        return scrapy.Request(
            canonical_url(url, self._keep_fragments),
            callback=self.parse_index,
            errback=self.on_error,
            meta={**self._meta(methods), GENERATION_META: self.session.generation if self.session else 0},
        )

    def _listing_request(self, url: str) -> scrapy.Request:
        actions = self.source.browser
        methods: list[PageMethod] = []
        if actions.detail_wait_for:
            methods.append(PageMethod("wait_for_selector", actions.detail_wait_for))
        if actions.screenshot:
            methods.append(PageMethod(full_page_png))
        return scrapy.Request(
            canonical_url(url, self._keep_fragments),
            callback=self.parse_listing,
            errback=self.on_error,
            meta={**self._meta(methods, True), GENERATION_META: self.session.generation if self.session else 0},
        )

    async def parse_index(self, response: Response) -> AsyncIterator[scrapy.Request | Listing]:
        if self._at_login_wall(response):
            if retry := await self._after_login_wall(response, self._index_request):
                yield retry
            return
        if not isinstance(response, TextResponse):
            self._skip("not_html", response.url)
            return
        if self.source.feed is not None:
            async for post in self._feed_items(response):
                yield post
        for link in self._listing_links.extract_links(response) if self._listing_links else []:
            yield self._listing_request(link.url)
        if self._next_links is None:
            return
        for link in self._next_links.extract_links(response):
            yield self._index_request(link.url)

    async def parse_listing(self, response: Response) -> AsyncIterator[Listing]:
        # Body and screenshot are captured by now: the tab can serve the next listing.
        self.page_pool.release(response.meta.pop("playwright_page", None))
        if self._at_login_wall(response):
            if retry := await self._after_login_wall(response, self._listing_request):
                yield retry
            return
        if not isinstance(response, TextResponse):
            self._skip("not_html", response.url)
            return
        html = response.text
        kind, reason = detect_page_kind(response.status, response.url, html)
        if kind != "listing":
            self._skip(reason or kind, response.url)
            return
        fields = extract_fields(html, response.url, self.source.fields)
        if listing := await self._listing(response.url, fields, response):
            yield listing

    def _api_list_request(self, url: str, page: int | None) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_api_list,
            errback=self.on_error,
            cb_kwargs={"page": page},
            meta={GENERATION_META: self.session.generation if self.session else 0},
        )

    def _api_item_request(self, url: str, item_id: str) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_api_item,
            errback=self.on_error,
            cb_kwargs={"item_id": item_id},
            meta={GENERATION_META: self.session.generation if self.session else 0},
        )

    def _api_json(self, response: Response) -> object | None:
        """The reply's JSON; anything else (an error page, HTML) is skipped with its reason."""
        kind, reason = detect_page_kind(response.status, response.url, getattr(response, "text", ""))
        if kind != "listing":
            self._skip(reason or kind, response.url)
            return None
        data = load_json(response.text) if isinstance(response, TextResponse) else None
        if data is None:
            self._skip("not_json", response.url)
        return data

    async def parse_api_list(self, response: Response, page: int | None) -> AsyncIterator[scrapy.Request | Listing]:
        """One page of the API's list: a request (or, with no item_url, a listing) per entry, then the next page."""
        if self._at_login_wall(response):
            if retry := await self._after_login_wall(response, lambda url: self._api_list_request(url, page)):
                yield retry
            return
        api = self.source.api
        assert api is not None
        if (data := self._api_json(response)) is None:
            return
        found = read_list(api, data, page)
        for item_id, entry in found.entries:
            if api.item_url is not None:
                yield self._api_item_request(fill(api.item_url, item_id), item_id)
            elif listing := await self._api_listing(item_id, entry, response):
                yield listing
        if found.next_page is not None:
            yield self._api_list_request(list_url(api, page=found.next_page), found.next_page)
        elif found.next_cursor is not None:
            yield self._api_list_request(list_url(api, cursor=found.next_cursor), None)

    async def parse_api_item(self, response: Response, item_id: str) -> AsyncIterator[scrapy.Request | Listing]:
        if self._at_login_wall(response):
            if retry := await self._after_login_wall(response, lambda url: self._api_item_request(url, item_id)):
                yield retry
            return
        if (data := self._api_json(response)) is not None and (
            listing := await self._api_listing(item_id, data, response)
        ):
            yield listing

    async def _api_listing(self, item_id: str, item: object, response: Response) -> Listing | None:
        """The listing of one API item: its URL is the page a person opens (fragment kept), its evidence the reply."""
        api = self.source.api
        assert api is not None and isinstance(response, TextResponse)
        url = canonical_url(fill(api.listing_url, item_id), keep_fragments=True)
        return await self._listing(url, api_fields(api, item), response)

    async def _feed_items(self, response: TextResponse) -> AsyncIterator[Listing]:
        """Every post on a feed page (a channel preview) as a listing of its own, keyed by the post's link."""
        assert self.source.feed is not None
        feed = self.source.feed
        sel = response.selector
        nodes = sel.xpath(feed.item.removeprefix("xpath:")) if feed.item.startswith("xpath:") else sel.css(feed.item)
        for node in nodes:
            link = select_text(node, feed.link)
            if not link:
                self._skip("feed_item_without_link", response.url)
                continue
            url = canonical_url(response.urljoin(link), self._keep_fragments)
            if url in self._seen_posts:  # pages of a feed overlap
                continue
            self._seen_posts.add(url)
            fields = extract_fields(node.get(), url, self.source.fields)
            if fields.title is None and fields.description and feed.title_from_text:
                fields.title = fields.description.splitlines()[0][:FEED_TITLE_CHARS]
                fields.methods["title"] = "text_start"
            if listing := await self._listing(url, fields, response):
                yield listing

    async def _listing(self, url: str, fields: PageFields, response: TextResponse) -> Listing | None:
        """The `Listing` for extracted fields, with the evidence of `response` and the photos fetched."""
        if not fields.title and not fields.description:
            self._skip("no_content", url)
            return None
        capture: Capture | None = response.meta.get(EVIDENCE_META)
        evidence = capture.evidence() if capture is not None else Evidence()
        for method in response.meta.get("playwright_page_methods", []):
            if method.method is full_page_png and isinstance(method.result, bytes):
                path, digest = save_screenshot(self.screenshot_dir, response.url, method.result)
                evidence.screenshot_path, evidence.screenshot_sha256 = str(path), digest
        images = [response.urljoin(src)[:2000] for src in fields.images]
        archived = response.meta.get(SUBRESOURCES_META, {})
        photos = await self._fetch_photos(images, archived) if self.source.photos.enabled else []
        try:
            return Listing(
                url=url,
                source=self.source.name,
                platform=self.source.platform,
                site=self.source.site,
                source_kind=self.source.kind,
                render_mode=self.source.render,
                http_status=response.status,
                **({"fetched_at": evidence.captured_at} if evidence.captured_at else {}),
                title=fields.title[:MAX_TITLE] if fields.title else None,
                description=fields.description[:MAX_TEXT] if fields.description else None,
                price=fields.price.amount if fields.price else None,
                currency=fields.price.currency if fields.price else None,
                price_text=fields.price.text if fields.price else None,
                seller=Seller(
                    name=fields.seller[:2000] if fields.seller else None,
                    profile_url=response.urljoin(fields.seller_url)[:2000] if fields.seller_url else None,
                ),
                images=images,
                photos=photos,
                posted_at=fields.posted_at,
                language=fields.language,
                extraction=(
                    {**fields.methods, "price": "not_on_page"}
                    if self.source.fields.price and fields.price is None
                    else fields.methods
                ),
                evidence=evidence,
            )
        except ValidationError as err:
            self._skip("invalid_listing", url, str(err.errors()[0]["msg"]))
            return None

    async def _fetch_photos(self, urls: list[str], archived: dict[str, tuple[Exchange, Capture]]) -> list[Photo]:
        """Download, archive and hash the first photos, all at once; a failed photo is counted and skipped.

        A browser page already archived the photos it loaded (within its sub-resource budget):
        those records are used as they are, not fetched a second time.
        """
        wanted = urls[: self.source.photos.max_per_listing]
        photos = await asyncio.gather(*(self._photo(url, archived) for url in wanted))
        return [p for p in photos if p is not None]

    async def _photo(self, url: str, archived: dict[str, tuple[Exchange, Capture]]) -> Photo | None:
        assert self.crawler.engine is not None and self.crawler.stats is not None
        if known := self._photos_seen.get(url):  # one photo URL on many listings: fetched and archived once
            return known
        photo = await self._new_photo(url, archived)
        if photo is not None and len(self._photos_seen) < PHOTO_MEMO:
            self._photos_seen[url] = photo
        return photo

    @cached_property
    def _origins(self) -> OriginPolicy:
        """The crawl's origin policy, for what the downloader does not see: a photo a browser tab archived
        (on another origin it is asked for again through the downloader, whose offsite check turns it away,
        `photo_failed`, as in HTTP mode) and the index node's origins the tab's recorder never archives."""
        return OriginPolicy.in_crawl(self.source, self.crawler.settings)

    async def _new_photo(self, url: str, archived: dict[str, tuple[Exchange, Capture]]) -> Photo | None:
        assert self.crawler.engine is not None and self.crawler.stats is not None
        max_bytes = self.source.photos.max_bytes
        if url in archived and len(archived[url][0].body) <= max_bytes and self._origins.allows(url):
            exchange, capture = archived[url]
            content_type = dict((k.lower(), v) for k, v in exchange.response_headers).get("content-type")
            self.crawler.stats.inc_value("listingwatch/photos_from_page")
            return await _photo(url, exchange.body, content_type, capture, self._hasher, self._queue_for_ocr)
        request = scrapy.Request(
            url,
            dont_filter=True,
            priority=10,
            meta={PHOTO_META: True, "download_maxsize": max_bytes, "download_warnsize": 0},
        )
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as err:  # offsite, robots.txt, timeout, too big: a photo never stops a listing
            self._skip("photo_failed", url, f"{type(err).__name__}: {err}")
            return None
        capture: Capture | None = response.meta.get(EVIDENCE_META) if response.request else None
        if response.status != 200 or capture is None:
            self._skip("photo_failed", url, f"HTTP {response.status}")
            return None
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        self.crawler.stats.inc_value("listingwatch/photos_fetched")
        return await _photo(response.url, response.body, content_type, capture, self._hasher, self._queue_for_ocr)

    def _queue_for_ocr(self, capture: Capture) -> None:
        """Queue a photo for the OCR stage once (by SHA-256); past the queue's cap it is counted as not read."""
        if self.ocr_queue is None or capture.body_sha256 in self.ocr_queue:
            return
        if len(self.ocr_queue) >= self.ocr_queue_cap:
            self.ocr_queue_full += 1
            return
        self.ocr_queue[capture.body_sha256] = (str(capture.warc_file), capture.offset)

    def closed(self, reason: str) -> None:
        self._hasher.close()

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        # Never leak a kept tab (it would hold a PLAYWRIGHT_MAX_PAGES_PER_CONTEXT slot forever).
        self.page_pool.release(request.meta.pop("playwright_page", None))
        reason = failure_reason(failure)
        self._skip(reason, request.url, str(failure.value))
        if reason in UNREACHABLE:
            self.errors.append(f"could not reach {request.url}: {failure.value}")

    def _skip(self, reason: str, url: str, detail: str = "") -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"listingwatch/skipped/{reason}")
        self.logger.warning("skipped %s: %s%s", url, reason, f" ({detail})" if detail else "")
