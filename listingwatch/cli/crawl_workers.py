"""`listingwatch crawl SOURCE --workers N`: N local crawler processes on the shared Redis frontier."""

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from core.errors import ConfigError
from core.jsonl import count_lines
from core.schema import utcnow
from core.settings import Settings
from crawlers.distributed import start_workers, wait_workers
from crawlers.run import crawl_timeout_s
from crawlers.sources import SourceConfig
from listingwatch.terminal import escape


def crawl_with_workers(
    source: SourceConfig,
    settings: Settings,
    console: Console,
    *,
    workers: int | None,
    run_id: str | None,
    output: Path,
    max_pages: int | None,
    timeout: float | None,
) -> None:
    """Start the workers, show progress, merge their listings into `output` and print one row per worker."""
    if settings.crawl.frontier != "redis":
        raise ConfigError(
            "--workers needs the shared frontier: set LISTINGWATCH_CRAWL__FRONTIER=redis and "
            "LISTINGWATCH_CRAWL__REDIS_URL=redis://HOST:6379/0 (or crawl.frontier and crawl.redis_url in "
            "listingwatch.yaml)."
        )
    count = workers or settings.crawl.workers
    run_id = run_id or f"{utcnow():%Y%m%dT%H%M%SZ}"
    timeout = crawl_timeout_s(source, settings, timeout)
    processes = start_workers(
        source,
        settings,
        run_id=run_id,
        workers=count,
        output_dir=output.parent / f"{output.stem}.workers",
        max_pages=max_pages,
        timeout_s=timeout,
    )
    with console.status(f"crawling {source.name} with {count} workers…") as status:
        started = time.monotonic()
        while any(p.popen.poll() is None for p in processes):
            written = sum(count_lines(p.job.output) for p in processes)
            status.update(
                f"crawling {source.name} (run {run_id}, {count} workers): {written} listings written, "
                f"{time.monotonic() - started:.0f}s"
            )
            time.sleep(0.5)
    report = wait_workers(source, run_id, processes, output, timeout)
    table = Table(
        "worker",
        "finish",
        "pages",
        "listings",
        "warc files",
        "log",
        title=f"crawl {source.name}, run {run_id}: {report.listings} listings in {report.output}",
    )
    for worker in report.workers:
        table.add_row(
            escape(worker.worker or "?"),
            worker.finish_reason or "did not finish",
            str(worker.pages_fetched),
            str(worker.listings_written),
            "\n".join(escape(str(p)) for p in worker.warc_files),
            escape(str(worker.log_file)),
        )
    console.print(table)
    for error in report.errors:
        console.print(f"[red]error:[/red] {escape(error)}")
    if report.errors or len(report.workers) < count:
        raise typer.Exit(1)
