"""What the spider does inside a browser tab: wait out infinite lists, press "load more", take the screenshot.

These run through scrapy-playwright's ``PageMethod`` (scripts via ``page.evaluate``, the
screenshot as a module-level coroutine, so requests still pickle into a JOBDIR).
"""

import asyncio
import base64
import weakref
from contextlib import suppress
from typing import Any

from playwright.async_api import CDPSession, Page, Request
from playwright.async_api import Error as PlaywrightError
from scrapy_playwright.headers import use_scrapy_headers

# Scroll until no new items appear (or `times` is reached): adaptive, so short lists finish fast.
# Infinite lists usually load on an IntersectionObserver sentinel, which only fires when the
# sentinel *enters* the viewport; if new items and the next scroll land in one frame it never
# left, so while waiting the script steps back up a screen and down again to re-arm it.
# A round ends early when the page has had no fetch/XHR in flight and no new items for
# `quietMs` (300 ms): the last scroll of a list then costs that, not the whole `waitMs` a slow site may need.
SCROLL_JS = """async ([selector, times, waitMs]) => {
  const count = () => selector ? document.querySelectorAll(selector).length : document.body.scrollHeight;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const quietMs = Math.min(waitMs, 300);
  let inflight = 0, lastActive = Date.now();
  const busy = () => { inflight++; lastActive = Date.now(); };
  const idle = () => { inflight = Math.max(0, inflight - 1); lastActive = Date.now(); };
  const realFetch = window.fetch;
  window.fetch = function (...args) { busy(); return realFetch.apply(window, args).finally(idle); };
  const realSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    busy(); this.addEventListener('loadend', idle); return realSend.apply(this, args);
  };
  try {
    for (let i = 0; i < times; i++) {
      const before = count();
      const started = Date.now();
      lastActive = started;
      window.scrollTo(0, document.body.scrollHeight);
      for (let tick = 1; count() === before && Date.now() - started < waitMs; tick++) {
        if (inflight === 0 && Date.now() - lastActive >= quietMs) break;
        await sleep(50);
        if (tick % 3 === 0) {
          window.scrollBy(0, -window.innerHeight);
          await sleep(50);
          window.scrollTo(0, document.body.scrollHeight);
        }
      }
      if (count() === before) return i;
    }
    return times;
  } finally {
    window.fetch = realFetch;
    XMLHttpRequest.prototype.send = realSend;
  }
}"""

CLICK_JS = """async ([selector, times, waitMs]) => {
  for (let i = 0; i < times; i++) {
    const button = document.querySelector(selector);
    if (!button || button.disabled) return i;
    button.click();
    await new Promise(r => setTimeout(r, waitMs));
  }
  return times;
}"""

# Chromium cannot paint a surface taller than this; a longer page is captured down to here.
MAX_SCREENSHOT_PX = 16_384

# The longest wait for a page's photos before its screenshot: a stalled image host (or a page that
# breaks the promise below) must not hold a tab.
IMAGE_SETTLE_S = 5.0

# Resolves once every image the page asked for eagerly is loaded and decoded, or failed. Lazy images
# outside the window are not waited for: nothing would load them.
SETTLE_IMAGES_JS = """() => Promise.all([...document.images]
  .filter(i => i.loading !== 'lazy' && !(i.complete && i.naturalWidth))
  .map(i => i.decode().catch(() => null)))"""

_sessions: "weakref.WeakKeyDictionary[Page, CDPSession]" = weakref.WeakKeyDictionary()


async def full_page_png(page: Page) -> bytes:
    """A lossless PNG of the whole document, once its photos are in (at most `IMAGE_SETTLE_S`).

    A page's photos often arrive after the element the crawl waits for; shot at once, about one
    listing in a hundred on the local app was cut off at the window's height because a photo had
    not taken its place yet.

    Straight from Chromium's DevTools protocol (a clip of the content size, with
    ``captureBeyondViewport`` only when the page outgrows the window) instead of Playwright's
    ``screenshot(full_page=True)``, which resizes the viewport around the capture and hides the
    caret with an injected style: two extra layouts per page. ``optimizeForSpeed`` picks faster
    zlib settings; the image is still PNG, pixel for pixel (`benchmarks/bench_crawl.py` measures
    the browser crawl).
    The DevTools session is kept per tab, since pooled tabs serve many listings.
    """
    with suppress(TimeoutError, PlaywrightError):
        await asyncio.wait_for(page.evaluate(SETTLE_IMAGES_JS), IMAGE_SETTLE_S)
    session = _sessions.get(page)
    if session is None:
        session = await page.context.new_cdp_session(page)
        _sessions[page] = session
    metrics = await session.send("Page.getLayoutMetrics")
    size = metrics["cssContentSize"]
    clip = {
        "x": 0,
        "y": 0,
        "width": max(1, min(int(size["width"]), MAX_SCREENSHOT_PX)),
        "height": max(1, min(int(size["height"]), MAX_SCREENSHOT_PX)),
        "scale": 1,
    }
    view = metrics["cssLayoutViewport"]
    # A page that fits in the window is captured as painted; only a taller (or wider) one needs
    # Chromium to lay it out again at full size for the capture.
    beyond = clip["width"] > view["clientWidth"] or clip["height"] > view["clientHeight"]
    shot = await session.send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": beyond, "optimizeForSpeed": True, "clip": clip},
    )
    return base64.b64decode(shot["data"])


async def request_headers(
    *, browser_type_name: str, playwright_request: Request, scrapy_request_data: dict[str, Any]
) -> dict[str, str] | None:
    """PLAYWRIGHT_PROCESS_REQUEST_HEADERS: the Scrapy request's headers for navigations, none for the rest.

    scrapy-playwright's default asks the browser for every sub-resource's full header list (a driver
    round trip per script, XHR and image) only to put the crawl's User-Agent back in. The browser
    context carries that User-Agent itself (``PLAYWRIGHT_CONTEXTS``), so sub-resources go out as
    Chromium sends them, cookies included; navigations still take Scrapy's headers, as before.
    """
    if not playwright_request.is_navigation_request():
        return None
    return await use_scrapy_headers(
        browser_type_name=browser_type_name,
        playwright_request=playwright_request,
        scrapy_request_data=scrapy_request_data,
    )
