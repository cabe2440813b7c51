"""The browser handler's route sees a page's navigation, then lets the page load as the browser sends it."""

import asyncio

import pytest
from playwright.async_api import Request, Route, async_playwright

from core.settings import BROWSER_ARGS
from crawlers.browser_handler import navigation_only
from listingwatch.demo.marketplaces.sites import SitesServer

pytestmark = pytest.mark.integration


async def _load(url: str, second_url: str) -> tuple[list[str], list[str]]:
    routed: list[str] = []
    loaded: list[str] = []

    async def handler(route: Route, request: Request) -> None:
        routed.append(request.url)
        await route.continue_(headers={**request.headers, "x-listingwatch-test": "1"})

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = await browser.new_page()
        page.on("request", lambda request: loaded.append(request.url))
        await page.route("**", navigation_only(handler))
        await page.goto(url, wait_until="load")
        await page.wait_for_selector("h1#title")  # drawn by the page's script from its API call
        await page.goto(second_url, wait_until="load")  # the route is gone: nothing of this page is routed
        await browser.close()
    return routed, loaded


def test_only_the_navigation_is_routed(sites: SitesServer) -> None:
    item, other = f"{sites.url}/spa/item/1", f"{sites.url}/spa/item/2"
    routed, loaded = asyncio.run(_load(item, other))
    assert routed == [item]
    # The page's API call still went out, unrouted, and the second page loaded.
    assert f"{sites.url}/spa/api/item/1" in loaded
    assert other in loaded
