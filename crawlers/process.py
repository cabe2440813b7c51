"""Child-process entry point: ``python -m crawlers.process JOB.json`` runs one Scrapy crawl and writes a report."""

import json
import logging
import sys
from pathlib import Path

from scrapy.crawler import CrawlerProcess

from core.settings import Settings
from crawlers.photo_text import fill_photo_texts
from crawlers.pipelines import ContactReading
from crawlers.run import CrawlJob
from crawlers.scrapy_settings import evidence_dirs, scrapy_settings
from crawlers.spiders.listing import ListingSpider


def quiet_browser_debug_logs(level: str) -> None:
    """Give scrapy-playwright's logger the crawl's level, so it skips the work for lines nobody keeps.

    Scrapy filters by LOG_LEVEL at its root handler and leaves the loggers at NOTSET. scrapy-playwright
    reads that as DEBUG and gives every tab a request and a response listener that each ask the
    browser for a header (a driver round trip per sub-resource, twice) only to format a debug line
    the handler then drops. `benchmarks/bench_crawl.py` measures the browser crawl.
    """
    logging.getLogger("scrapy-playwright").setLevel(logging.getLevelName(level))


def main(job_path: str) -> int:
    job = CrawlJob.model_validate_json(Path(job_path).read_text(encoding="utf-8"))
    settings = Settings(**job.settings)  # type: ignore[arg-type]
    dirs = evidence_dirs(settings, job.source.name)
    crawl_settings = scrapy_settings(
        job.source,
        settings,
        output=job.output,
        append=job.append,
        jobdir=job.jobdir,
        max_pages=job.max_pages,
        timeout_s=job.timeout_s,
        log_file=job.log_file,
        worker=job.worker,
    )
    before = job.output.stat().st_size if job.append and job.output.exists() else 0  # lines of earlier runs
    process = CrawlerProcess(crawl_settings, install_root_handler=True)
    quiet_browser_debug_logs(crawl_settings["LOG_LEVEL"])
    crawler = process.create_crawler(ListingSpider)
    process.crawl(crawler, source=job.source, screenshot_dir=str(dirs["screenshots"]))
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    prefix = "listingwatch/skipped/"
    spider = crawler.spider
    elapsed = stats.get("elapsed_time_seconds") or 0.0
    ocr = fill_photo_texts(
        job.output,
        before,
        getattr(spider, "ocr_queue", None) or {},
        settings,
        ContactReading.of(job.source),
        budget_s=None if job.timeout_s is None else max(0.0, job.timeout_s - elapsed),
    )
    # Queued photos left unread (time budget, record missing) and photos that found the queue full.
    if not_read := ocr.unread + getattr(spider, "ocr_queue_full", 0):
        stats[f"{prefix}photo_not_read"] = not_read
    report = {
        "pages_fetched": stats.get("listingwatch/pages_fetched", 0),
        "listings_written": stats.get("listingwatch/listings_written", 0),
        "skipped": {k.removeprefix(prefix): v for k, v in stats.items() if k.startswith(prefix)},
        "errors": list(getattr(spider, "errors", []))[:100],
        "lost": stats.get("listingwatch/lost", 0),
        "lost_urls": list(getattr(spider, "lost_urls", [])),
        "elapsed_s": stats.get("elapsed_time_seconds"),
        "finish_reason": stats.get("finish_reason"),
        "warc_files": stats.get("listingwatch/warc_files", []),
        "photos_read": ocr.read,
        "photo_texts": ocr.with_text,
        "ocr_s": round(ocr.seconds, 3),
    }
    job.report.write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
