"""Crawl throughput: the full pipeline against bare baselines, measured in the same run on the same sites.

- http: the classifieds site crawled by the full listingwatch crawl (robots, WARC, extraction,
  entities, JSONL, listing photos fetched and hashed; a second row without photos) vs a bare
  Scrapy spider that only follows links (same concurrency, robots obeyed, no pipelines).
  Rate = pages / Scrapy's own elapsed time, so process start-up is excluded from both.
- browser: the SPA site crawled in browser mode (waits, infinite scroll, full-page screenshots,
  network-level WARC: server bytes, sub-resources, DOM and screenshot records; listing photos
  hashed) vs a bare Playwright loop that launches the same chromium and does ``page.goto`` +
  wait for the same element on the same URLs, one page at a time. Both rates include the
  browser launch. A third row crawls without sub-resources and photos, to show their cost.

Targets on a 2-core machine: http full >= 70% of bare and >= 40 pages/s; browser full >= 80%
of bare. Usage: ``.venv/bin/python benchmarks/bench_crawl.py [--repeats 5] [--browser-pages 100]``.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def bare_http(start_url: str, concurrency: int) -> tuple[int, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--bare-http", start_url, "--concurrency", str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["pages"], data["seconds"]


def full(source: SourceConfig, settings: Settings, max_pages: int | None = None) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = run_crawl(source, settings, output=Path(tmp) / "out.jsonl", max_pages=max_pages, timeout_s=300)
    assert report.elapsed_s and not report.errors, report
    return report.pages_fetched, report.elapsed_s


async def _goto_loop(urls: list[str], wait_for: str, settings: Settings) -> float:
    from playwright.async_api import async_playwright

    started = time.perf_counter()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(settings.crawl.chromium_path), args=settings.crawl.browser_args, headless=True
        )
        page = await browser.new_page()
        for url in urls:
            await page.goto(url)
            await page.wait_for_selector(wait_for)
        await browser.close()
    return time.perf_counter() - started


def bare_browser(server: SitesServer, pages: int, settings: Settings) -> tuple[int, float]:
    urls = [f"{server.url}/spa/item/{n}" for n in range(1, pages + 1)]
    return len(urls), asyncio.run(_goto_loop(urls, "h1#title", settings))


def _row(mode: str, variant: str, runs: list[tuple[int, float]], baseline: float | None) -> tuple[str, float]:
    rates = [p / s for p, s in runs]
    rate = statistics.median(rates)
    pages = runs[0][0]
    seconds = statistics.median(s for _, s in runs)
    ratio = f"{rate / baseline:5.2f}" if baseline else " 1.00"
    return f"{mode:<8} {variant:<34} {pages:>6} {seconds:>8.2f} {rate:>9.1f} {ratio:>6}", rate


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

    with tempfile.TemporaryDirectory() as var, start_sites() as server:
        settings = load_settings(var_dir=Path(var))
        import os

        os.environ["LISTINGWATCH_SITES_URL"] = server.url
        classifieds = load_source(ROOT / "crawlers/sources/classifieds.yaml")
        spa = load_source(ROOT / "crawlers/sources/spa.yaml")
        concurrency = classifieds.politeness.concurrency_per_domain
        bare_runs: list[tuple[int, float]] = []
        full_runs: list[tuple[int, float]] = []
        nophoto_runs: list[tuple[int, float]] = []
        no_photos = classifieds.model_copy(update={"photos": Photos(enabled=False)})
        for _ in range(args.repeats):  # interleaved so background load hits both alike
            bare_runs.append(bare_http(classifieds.start_urls[0], concurrency))
            full_runs.append(full(classifieds, settings))
            nophoto_runs.append(full(no_photos, settings))
        lines = [f"{'mode':<8} {'variant':<34} {'pages':>6} {'seconds':>8} {'pages/s':>9} {'ratio':>6}"]
        line, bare_rate = _row("http", "bare scrapy spider (links only)", bare_runs, None)
        lines.append(line)
        line, full_rate = _row("http", "full pipeline (photos fetched)", full_runs, bare_rate)
        lines.append(line)
        lines.append(_row("http", "full pipeline, photos off", nophoto_runs, bare_rate)[0])
        targets = [
            f"http: full {full_rate / bare_rate:.0%} of bare (target >= 70%), {full_rate:.1f} pages/s (target >= 40)"
        ]
        if not args.skip_browser:
            bare_b: list[tuple[int, float]] = []
            full_b: list[tuple[int, float]] = []
            lean_b: list[tuple[int, float]] = []
            lean = spa.model_copy(update={"photos": Photos(enabled=False), "evidence": EvidenceOptions(subresources=0)})
            for _ in range(max(1, args.repeats - 1)):
                bare_b.append(bare_browser(server, args.browser_pages, settings))
                full_b.append(full(spa, settings, max_pages=args.browser_pages))
                lean_b.append(full(lean, settings, max_pages=args.browser_pages))
            line, bare_b_rate = _row("browser", "bare playwright goto loop", bare_b, None)
            lines.append(line)
            line, full_b_rate = _row("browser", "full (network WARC, photos)", full_b, bare_b_rate)
            lines.append(line)
            lines.append(_row("browser", "full, no sub-resources/photos", lean_b, bare_b_rate)[0])
            targets.append(f"browser: full {full_b_rate / bare_b_rate:.0%} of bare (target >= 80%)")
        print("\n".join(lines))
        print("\n".join(targets))


if __name__ == "__main__":
    main()
