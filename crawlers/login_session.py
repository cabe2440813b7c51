"""The crawl's logged-in session: one login at start, one re-login per login wall however many pages hit it.

Pages carry the session generation they were requested under; when several come back as
login walls at once, the first re-logs in and the others see a newer generation and simply
retry. Forums expire sessions all the time, so re-logins are bounded in a row: any page that
gets through logged in resets the count, and only a site that walls every page after
``login.max_relogins`` fresh logins stops the crawl's logging in.

Browser tabs are handed the session cookies (`apply_browser_session`, run from the
page init callback before each navigation), so pages, their XHRs and photos all go out logged in.
"""

import asyncio
import weakref
from typing import Any

import scrapy
from playwright.async_api import BrowserContext, Page
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware

from crawlers.login import LOGIN_META, LoginError, load_credentials, logged_in, login_form_request
from crawlers.sources import Login

GENERATION_META = "listingwatch_login_generation"
RETRIES_META = "listingwatch_login_retries"

# The current session's cookies for browser tabs: (generation, Playwright cookie dicts). One crawl per process.
_browser_session: dict[str, Any] = {"generation": 0, "cookies": []}
_applied: "weakref.WeakKeyDictionary[BrowserContext, int]" = weakref.WeakKeyDictionary()


class LoginSession:
    def __init__(self, source: str, login: Login, crawler: Crawler) -> None:
        self.source = source
        self.config = login
        self.crawler = crawler
        self.credentials = load_credentials(login.credentials, source)
        self.secrets = self.credentials.secrets()
        self.generation = 0
        self.relogins = 0  # in a row, since a page last got through logged in
        self._lock = asyncio.Lock()

    async def login(self, seen: int) -> None:
        """Log in unless a login newer than generation `seen` already happened; raises `LoginError`."""
        async with self._lock:
            if self.generation > seen:
                return
            if self.generation > 0:
                if self.relogins >= self.config.max_relogins:
                    raise LoginError(
                        f"Source {self.source}: the site kept showing its login wall after "
                        f"{self.relogins} re-logins in a row; raise login.max_relogins or check login.logged_in."
                    )
                self.relogins += 1
            await self._submit()
            self.generation += 1
            _browser_session.update(generation=self.generation, cookies=self._cookies())
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("listingwatch/logins")

    def progress(self) -> None:
        """A page got through logged in: the session works, so the next wall is an expiry, not a failure."""
        self.relogins = 0

    async def _submit(self) -> None:
        engine = self.crawler.engine
        assert engine is not None
        url = self.config.url
        try:
            page = await engine.download_async(scrapy.Request(url, dont_filter=True, meta={LOGIN_META: True}))
            method, action, headers, body = login_form_request(
                page,
                self.config.username_field,
                self.config.password_field,
                self.config.submit,
                self.credentials,
                self.source,
            )
            response = await engine.download_async(
                scrapy.Request(
                    action, method=method, headers=headers, body=body, dont_filter=True, meta={LOGIN_META: True}
                )
            )
        except LoginError:
            raise
        except Exception as err:  # unreachable, robots.txt, timeout: named by type only, never with the request
            raise LoginError(
                f"Source {self.source}: the login page {url} could not be used ({type(err).__name__})."
            ) from None
        if not logged_in(response, self.config.logged_in):
            raise LoginError(
                f"Source {self.source}: after submitting the login form at {url} the page has no "
                f"{self.config.logged_in!r}; check the credentials ({self.config.credentials}) and login.logged_in."
            )

    def _cookies(self) -> list[dict[str, Any]]:
        engine = self.crawler.engine
        assert engine is not None
        for middleware in engine.downloader.middleware.middlewares:
            if isinstance(middleware, CookiesMiddleware):
                return [
                    {
                        "name": c.name,
                        "value": c.value or "",
                        "domain": c.domain,
                        "path": c.path or "/",
                        "secure": bool(c.secure),
                    }
                    for jar in middleware.jars.values()
                    for c in jar.jar
                ]
        return []


async def apply_browser_session(page: Page) -> None:
    """Give the tab's browser context the current session cookies (once per login)."""
    generation = _browser_session["generation"]
    if generation and _applied.get(page.context, 0) < generation:
        await page.context.add_cookies(_browser_session["cookies"])
        _applied[page.context] = generation
