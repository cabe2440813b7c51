"""A listing's screenshot waits for its photos: a photo that arrives late is in the picture, not cut off."""

import asyncio
import io

import pytest
from PIL import Image
from playwright.async_api import Route, async_playwright

from core.settings import BROWSER_ARGS
from crawlers.browser import IMAGE_SETTLE_S, full_page_png

pytestmark = pytest.mark.integration

PAGE = "<html><body><h1 id=title>Pressed M30s</h1><img class=photo src='/photo.png'></body></html>"
PHOTO_SIZE = (400, 1500)  # taller than the window: while it is missing the page fits in 720 px
RED = (220, 20, 20)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", PHOTO_SIZE, RED).save(out, format="PNG")
    return out.getvalue()


async def _shot(photo_delay_s: float) -> bytes:
    photo = _photo()

    async def serve(route: Route) -> None:
        if route.request.url.endswith("/photo.png"):
            await asyncio.sleep(photo_delay_s)
            await route.fulfill(body=photo, content_type="image/png")
        else:
            await route.fulfill(body=PAGE, content_type="text/html")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = await browser.new_page()
        await page.route("http://listing.test/**", serve)
        await page.goto("http://listing.test/item/1", wait_until="commit")
        await page.wait_for_selector("h1#title")
        png = await full_page_png(page)
        await browser.close()
    return png


def test_a_late_photo_is_in_the_screenshot() -> None:
    shot = Image.open(io.BytesIO(asyncio.run(_shot(1.0)))).convert("RGB")
    assert shot.height >= PHOTO_SIZE[1]
    assert shot.getpixel((100, shot.height - 100)) == RED


def test_a_photo_that_never_comes_does_not_hold_the_tab() -> None:
    shot = Image.open(io.BytesIO(asyncio.run(_shot(IMAGE_SETTLE_S + 3))))
    assert shot.height < PHOTO_SIZE[1]  # shot after the wait, without the photo
