"""Scrapy settings for one crawl, derived from the source config and the project settings.

Standard Scrapy machinery does the work: RobotsTxtMiddleware, RetryMiddleware, AutoThrottle,
DOWNLOAD_MAXSIZE (a 20 MB page is cancelled mid-stream, not downloaded whole), redirects
bounded by REDIRECT_MAX_TIMES, JOBDIR for resumable crawls, HttpCache only when asked for.
"""

from pathlib import Path
from typing import Any

from core.settings import Settings
from crawlers.fingerprint import KEEP_FRAGMENTS_SETTING
from crawlers.frontier import WorkerSlot, frontier_settings
from crawlers.middlewares import MAX_PAGES_SETTING
from crawlers.origins import DENIED_SETTING, denied_origins
from crawlers.pagepool import browser_page_limit
from crawlers.proxy import proxy_settings
from crawlers.sources import SourceConfig

PLAYWRIGHT_HANDLER = "crawlers.browser_handler.SharedBrowserHandler"  # one Chromium for http and https


def evidence_dirs(settings: Settings, source: str) -> dict[str, Path]:
    """Where a source's WARC files, screenshots, JOBDIR and logs live under ``var/``."""
    var = settings.var_dir
    return {
        "warc": var / "warc" / source,
        "screenshots": var / "screenshots" / source,
        "jobs": var / "jobs" / source,
        "logs": var / "logs" / "crawl",
    }


def scrapy_settings(
    source: SourceConfig,
    settings: Settings,
    *,
    output: Path,
    append: bool,
    jobdir: Path | None,
    max_pages: int | None,
    timeout_s: float | None,
    log_file: Path | None,
    worker: WorkerSlot | None = None,
) -> dict[str, Any]:
    crawl = settings.crawl
    polite = source.politeness
    limits = source.limits
    timeout = limits.timeout_s or crawl.download_timeout
    max_bytes = limits.max_page_bytes or crawl.max_page_bytes
    dirs = evidence_dirs(settings, source.name)
    out: dict[str, Any] = {
        "BOT_NAME": "listingwatch",
        "USER_AGENT": polite.user_agent or crawl.user_agent,
        "ROBOTSTXT_OBEY": polite.obey_robots_txt,
        "CONCURRENT_REQUESTS": max(16, polite.concurrency_per_domain),
        "CONCURRENT_REQUESTS_PER_DOMAIN": polite.concurrency_per_domain,
        # Scrapy starts CONCURRENT_ITEMS worker tasks for every response's output, however little
        # it yields. A listing page yields one item and an index page a few dozen requests, so the
        # default of 100 made 100 tasks per page: a fifth of the crawl's CPU on the local board.
        "CONCURRENT_ITEMS": 8,
        # Scrapy re-reads a callback's source to warn about `return value` in generators, and its
        # cache is keyed by the bound method, which is new on every response. The spider's
        # callbacks are ours and return nothing; the check cost 7% of a local crawl's CPU.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "DOWNLOAD_DELAY": polite.download_delay,
        "AUTOTHROTTLE_ENABLED": polite.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(polite.download_delay, 0.25),
        "AUTOTHROTTLE_MAX_DELAY": max(30.0, polite.download_delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": polite.autothrottle_target_concurrency,
        "DNS_RESOLVER": "crawlers.resolver.NegativeCachingResolver",
        "RETRY_ENABLED": limits.retries > 0,
        "RETRY_TIMES": limits.retries,
        "DOWNLOAD_TIMEOUT": timeout,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_WARNSIZE": max_bytes // 2,
        "REDIRECT_MAX_TIMES": crawl.max_redirects,
        "DEPTH_LIMIT": limits.max_depth,
        "HTTPERROR_ALLOWED_CODES": [401, 403],
        "CLOSESPIDER_PAGECOUNT": max_pages or limits.max_pages or 0,
        "CLOSESPIDER_TIMEOUT": timeout_s or limits.crawl_timeout_s or 0,
        "REQUEST_FINGERPRINTER_CLASS": "crawlers.fingerprint.CanonicalFingerprinter",
        # Keeps CONCURRENT_REQUESTS_PER_DOMAIN when photos are asked for in bursts (see the module).
        "DOWNLOADER": "crawlers.downloader.SlotLimitedDownloader",
        KEEP_FRAGMENTS_SETTING: source.links.keep_fragments,
        MAX_PAGES_SETTING: max_pages or limits.max_pages or 0,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
            "crawlers.middlewares.OriginOffsiteMiddleware": 50,
            "crawlers.middlewares.PageBudgetMiddleware": 60,
            "crawlers.middlewares.WarcCaptureMiddleware": 585,
            "crawlers.middlewares.LoginWallRedirectMiddleware": 610,
        },
        "EXTENSIONS": {
            "scrapy.extensions.closespider.CloseSpider": None,
            "crawlers.middlewares.PageCountCloseSpider": 0,
        },
        DENIED_SETTING: denied_origins(settings),
        "ITEM_PIPELINES": {"crawlers.pipelines.EntityPipeline": 300, "crawlers.pipelines.JsonlWriterPipeline": 800},
        "HTTPCACHE_ENABLED": crawl.http_cache,
        "HTTPCACHE_DIR": str(settings.cache_dir / "httpcache"),
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": settings.log_level,
        "LOG_FILE": str(log_file) if log_file else None,
        "LISTINGWATCH_SOURCE_NAME": source.name,
        "LISTINGWATCH_OUTPUT": str(output),
        "LISTINGWATCH_APPEND": append,
        "LISTINGWATCH_WARC_DIR": str(dirs["warc"]),
        "LISTINGWATCH_WARC_MAX_BYTES": crawl.warc_max_bytes,
    }
    if worker is not None:  # shared frontier in Redis instead of JOBDIR; WARC files per worker
        out.update(frontier_settings(worker, source.name))
        out["LISTINGWATCH_WARC_DIR"] = str(dirs["warc"] / worker.run_id / worker.worker)
    elif jobdir is not None:
        out["JOBDIR"] = str(jobdir)
    if source.uses_browser:
        out["DOWNLOADER_MIDDLEWARES"]["crawlers.pagepool.PagePoolMiddleware"] = 590
        out.update(
            {
                "DOWNLOAD_HANDLERS": {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
                "PLAYWRIGHT_BROWSER_TYPE": "chromium",
                "PLAYWRIGHT_LAUNCH_OPTIONS": {
                    "executable_path": str(crawl.chromium_path),
                    "args": list(crawl.browser_args),
                    "headless": True,
                },
                "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout * 1000,
                # Sub-resources carry the crawl's User-Agent from the context, with no header round trip.
                "PLAYWRIGHT_CONTEXTS": {"default": {"user_agent": out["USER_AGENT"]}},
                "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": "crawlers.browser.request_headers",
                # Each tab costs a share of a core: let in only as many requests as can render at
                # once, so queued requests pick up pooled tabs instead of opening new ones.
                "CONCURRENT_REQUESTS": polite.concurrency_per_domain,
                "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": browser_page_limit(polite.concurrency_per_domain),
            }
        )
    out.update(proxy_settings(source, out))
    return out
