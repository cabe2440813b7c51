"""Crawl throughput: the full pipeline against bare baselines, measured in the same run on the same sites.

- http: the classifieds site crawled by the full listingwatch crawl (robots, WARC, extraction,
  entities, JSONL, listing photos fetched, hashed and read by OCR) vs a bare Scrapy spider that
  only follows links (same concurrency, robots obeyed, no pipelines). The site's photos are what
  real listings carry: 640x480 product shots and 800x600 price-list pictures with a contact in
  the picture only. Rate = requests (pages + photos) / Scrapy's own elapsed time, so process
  start-up is excluded from both. The crawl queues photos that may hold print and OCRs them after
  the fetch (`crawlers.photo_text`): a second row adds that stage's time (until every listing
  carries its photos' text). Two more rows: photos without OCR, and photos off.
- browser: the SPA site crawled in browser mode (waits, infinite scroll, full-page screenshots,
  network-level WARC: server bytes, sub-resources, DOM and screenshot records; listing photos
  hashed and read by OCR) vs a bare Playwright loop that launches the same chromium and does
  ``page.goto`` + wait for the same element on the same URLs, one page at a time. Both rates are
  pages per second (a page load fetches its photos in both) and include the browser launch. A
  second row adds to the bare loop the crawl's own full-page PNG of each page (the evidence
  screenshot alone, `crawlers.browser.full_page_png`); a last row crawls without sub-resources
  and photos, to show their cost.

Targets (issue 22): http full >= 70% of bare in requests per second; browser full >= 80% of bare.
Runs are interleaved, in an order rotated every repeat, so background load hits the baseline and the
pipeline alike; the load average is printed with the table. Usage:
``nice .venv/bin/python benchmarks/bench_crawl.py [--repeats 5] [--browser-pages 100] [--skip-browser]``.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.jsonl import read_jsonl  # noqa: E402
from core.schema import Listing  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402
from crawlers.run import run_crawl  # noqa: E402
from crawlers.sources import EvidenceOptions, Photos, SourceConfig, load_source  # noqa: E402
from listingwatch.demo.marketplaces.sites import SitesServer, start_sites  # noqa: E402


class BareSpider(scrapy.Spider):
    """Follows every link under the start URL's section; parses nothing."""

    name = "bare"

    def __init__(self, start_url: str, allow: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.start_url = start_url
        self.links = LinkExtractor(allow=[allow], deny=[r"/private/"])

    async def start(self):  # type: ignore[no-untyped-def]
        yield scrapy.Request(self.start_url)

    def parse(self, response):  # type: ignore[no-untyped-def]
        for link in self.links.extract_links(response):
            yield response.follow(link.url)


def _bare_http_worker(start_url: str, concurrency: int) -> None:
    process = CrawlerProcess(
        {
            "ROBOTSTXT_OBEY": True,
            "CONCURRENT_REQUESTS": 16,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "LOG_LEVEL": "ERROR",
            "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False,
        }
    )
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, start_url=start_url, allow=r"/classifieds/")
    process.start()
    stats = crawler.stats.get_stats()  # type: ignore[union-attr]
    pages = stats.get("response_received_count", 0) - stats.get("robotstxt/response_count", 0)
    print(json.dumps({"pages": pages, "seconds": stats["elapsed_time_seconds"]}))


@dataclass(frozen=True)
class Run:
    """One crawl: pages and photo requests, seconds, and how many photos OCR found text in."""

    pages: int
    photos: int
    seconds: float
    photo_texts: int = 0
    ocr_seconds: float = 0.0  # the OCR stage after the fetch (crawlers.photo_text)

    @property
    def requests(self) -> int:
        return self.pages + self.photos


def bare_http(start_url: str, concurrency: int) -> Run:
    out = subprocess.run(
        [sys.executable, __file__, "--bare-http", start_url, "--concurrency", str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Run(data["pages"], 0, data["seconds"])


def full(source: SourceConfig, settings: Settings, max_pages: int | None = None) -> Run:
    """The real crawl in its own process; photo requests are the distinct photos it fetched (each fetched once)."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "out.jsonl"
        report = run_crawl(source, settings, output=output, max_pages=max_pages, timeout_s=300)
        photos = {p.url: p for _, item in read_jsonl(output, Listing.model_validate_json) for p in item.photos}
    assert report.elapsed_s and not report.errors, report
    texts = sum(1 for p in photos.values() if p.text)
    return Run(report.pages_fetched, len(photos), report.elapsed_s, texts, report.ocr_s or 0.0)


async def _goto_loop(urls: list[str], wait_for: str, settings: Settings, screenshot: bool = False) -> float:
    from playwright.async_api import async_playwright

    from crawlers.browser import full_page_png

    started = time.perf_counter()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(settings.crawl.chromium_path), args=settings.crawl.browser_args, headless=True
        )
        page = await browser.new_page()
        for url in urls:
            await page.goto(url)
            await page.wait_for_selector(wait_for)
            if screenshot:
                await full_page_png(page)
        await browser.close()
    return time.perf_counter() - started


def bare_browser(server: SitesServer, pages: int, settings: Settings, screenshot: bool = False) -> Run:
    """The bare loop; with `screenshot`, plus the crawl's own full-page PNG of each page (the evidence alone)."""
    urls = [f"{server.url}/spa/item/{n}" for n in range(1, pages + 1)]
    return Run(len(urls), 0, asyncio.run(_goto_loop(urls, "h1#title", settings, screenshot)))


HEADER = (
    f"{'mode':<8} {'variant':<34} {'pages':>6} {'photos':>6} {'ocr txt':>7} {'seconds':>8} {'unit':>6} "
    f"{'rate':>7} {'ratio':>6}"
)


def _row(
    mode: str, variant: str, runs: list[Run], unit: str, baseline: float | None, with_ocr: bool = False
) -> tuple[str, float]:
    """One table line (medians over the runs) and its rate, in requests/s (``req``) or pages/s (``pages``).

    The crawl's time is Scrapy's; `with_ocr` adds the OCR stage that runs after it, for the time until
    every listing carries its photos' text.
    """
    rate = statistics.median(
        (r.requests if unit == "req" else r.pages) / (r.seconds + (r.ocr_seconds if with_ocr else 0)) for r in runs
    )
    seconds = statistics.median(r.seconds + (r.ocr_seconds if with_ocr else 0) for r in runs)
    first = runs[0]
    ratio = f"{rate / baseline:5.2f}" if baseline else " 1.00"
    line = (
        f"{mode:<8} {variant:<34} {first.pages:>6} {first.photos:>6} {first.photo_texts:>7} {seconds:>8.2f} "
        f"{unit + '/s':>6} {rate:>7.1f} {ratio:>6}"
    )
    return line, rate


def _interleaved(variants: dict[str, Callable[[], Run]], runs: dict[str, list[Run]], repeat: int) -> None:
    """One run of each variant, in an order rotated every repeat: background load then hits them alike,
    and no variant always follows the same one (a run after the bare spider, say, ran measurably slower)."""
    names = list(variants)
    shift = repeat % len(names)
    for name in names[shift:] + names[:shift]:
        runs[name].append(variants[name]())


def _load() -> str:
    return (
        "load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser-pages", type=int, default=100)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--bare-http", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=8, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_http:
        _bare_http_worker(args.bare_http, args.concurrency)
        return

    loads = [_load()]
    with tempfile.TemporaryDirectory() as var, start_sites() as server:
        settings = load_settings(var_dir=Path(var))
        os.environ["LISTINGWATCH_SITES_URL"] = server.url
        classifieds = load_source(ROOT / "crawlers/sources/classifieds.yaml")
        spa = load_source(ROOT / "crawlers/sources/spa.yaml")
        assert classifieds.photos.enabled and classifieds.photos.ocr and spa.photos.enabled and spa.photos.ocr
        concurrency = classifieds.politeness.concurrency_per_domain
        no_ocr = classifieds.model_copy(update={"photos": classifieds.photos.model_copy(update={"ocr": False})})
        no_photos = classifieds.model_copy(update={"photos": Photos(enabled=False)})
        runs: dict[str, list[Run]] = {"bare": [], "full": [], "no_ocr": [], "no_photos": []}
        variants: dict[str, Callable[[], Run]] = {
            "bare": lambda: bare_http(classifieds.start_urls[0], concurrency),
            "full": lambda: full(classifieds, settings),
            "no_ocr": lambda: full(no_ocr, settings),
            "no_photos": lambda: full(no_photos, settings),
        }
        for repeat in range(args.repeats):
            _interleaved(variants, runs, repeat)
        lines = [HEADER]
        line, bare_rate = _row("http", "bare scrapy spider (links only)", runs["bare"], "req", None)
        lines.append(line)
        line, full_rate = _row("http", "full crawl (photos, OCR queued)", runs["full"], "req", bare_rate)
        lines.append(line)
        line, until_text = _row("http", "  + the OCR stage after it", runs["full"], "req", bare_rate, with_ocr=True)
        lines.append(line)
        lines.append(_row("http", "full pipeline, photos without OCR", runs["no_ocr"], "req", bare_rate)[0])
        lines.append(_row("http", "full pipeline, photos off", runs["no_photos"], "req", bare_rate)[0])
        targets = [
            f"http: full crawl {full_rate / bare_rate:.0%} of bare in requests/s (target >= 70%); "
            f"{until_text / bare_rate:.0%} until every photo is read"
        ]
        loads.append(_load())
        if not args.skip_browser:
            browser: dict[str, list[Run]] = {"bare": [], "bare_shot": [], "full": [], "lean": []}
            lean = spa.model_copy(update={"photos": Photos(enabled=False), "evidence": EvidenceOptions(subresources=0)})
            browser_variants: dict[str, Callable[[], Run]] = {
                "bare": lambda: bare_browser(server, args.browser_pages, settings),
                "bare_shot": lambda: bare_browser(server, args.browser_pages, settings, screenshot=True),
                "full": lambda: full(spa, settings, max_pages=args.browser_pages),
                "lean": lambda: full(lean, settings, max_pages=args.browser_pages),
            }
            for repeat in range(max(1, args.repeats - 1)):
                _interleaved(browser_variants, browser, repeat)
            line, bare_b_rate = _row("browser", "bare playwright goto loop", browser["bare"], "pages", None)
            lines.append(line)
            shot = browser["bare_shot"]
            lines.append(_row("browser", "bare loop + full-page screenshot", shot, "pages", bare_b_rate)[0])
            line, full_b_rate = _row("browser", "full (network WARC, photos)", browser["full"], "pages", bare_b_rate)
            lines.append(line)
            line, until_b = _row("browser", "  + the OCR stage after it", browser["full"], "pages", bare_b_rate, True)
            lines.append(line)
            lines.append(_row("browser", "full, no sub-resources/photos", browser["lean"], "pages", bare_b_rate)[0])
            targets.append(
                f"browser: full crawl {full_b_rate / bare_b_rate:.0%} of bare in pages/s (target >= 80%); "
                f"{until_b / bare_b_rate:.0%} until every photo is read"
            )
            loads.append(_load())
        print("\n".join(lines))
        print("\n".join(targets))
        print("\n".join(loads))


if __name__ == "__main__":
    main()
