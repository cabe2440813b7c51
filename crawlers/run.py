"""Run one crawl in a subprocess and report what happened.

Scrapy's Twisted reactor can be started once per process and clashes with Airflow's and
pytest's event loops, so every crawl is its own ``python -m crawlers.process`` child. The
child is bounded in time (CLOSESPIDER_TIMEOUT for a clean stop, then SIGINT, then SIGKILL:
a child stuck in C code never sees the first two) and resumable: with a JOBDIR, a stopped
crawl continues where it left off and appends to the same JSONL without refetching pages
already seen. The child runs in its own session, so a Ctrl-C in the terminal reaches only
the parent, which asks the child once to stop cleanly instead of both being torn down.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Required, TypedDict, Unpack

from pydantic import BaseModel, Field

from core.errors import ServiceUnavailable
from core.schema import utcnow
from core.settings import Settings
from crawlers.frontier import WorkerSlot
from crawlers.scrapy_settings import evidence_dirs
from crawlers.sources import SourceConfig

STOP_GRACE_S = 30.0
POLL_S = 0.5


def crawl_timeout_s(source: SourceConfig, settings: Settings, override: float | None = None) -> float:
    """The crawl's wall-clock bound: the caller's, else the source's own, else the pipeline default."""
    return override or source.limits.crawl_timeout_s or settings.airflow.crawl_timeout_minutes * 60.0


class CrawlJob(BaseModel):
    """Everything the child process needs, passed as one JSON file."""

    source: SourceConfig
    settings: dict[str, object]
    output: Path
    append: bool
    jobdir: Path | None
    max_pages: int | None
    timeout_s: float | None
    log_file: Path
    report: Path
    worker: WorkerSlot | None = None


class CrawlReport(BaseModel):
    source: str
    pages_fetched: int = 0
    listings_written: int = 0
    skipped: dict[str, int] = Field(default_factory=dict, description="reason -> count")
    lost: int = Field(
        default=0, description="Pages wanted but never fetched (a login wall that outlasted re-logins); also skipped."
    )
    lost_urls: list[str] = Field(default_factory=list, description="The first lost pages' URLs.")
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="Not errors, but a person should look.")
    started_at: datetime
    finished_at: datetime | None = None
    elapsed_s: float | None = Field(default=None, description="Scrapy's own crawl time, without process start-up.")
    photos_read: int = Field(default=0, description="Photos read by OCR after the fetch (crawlers.photo_text).")
    photo_texts: int = Field(default=0, description="Of those, photos in which OCR found text.")
    ocr_s: float | None = Field(default=None, description="Time the OCR stage took after the fetch.")
    finish_reason: str | None = None
    output: Path
    warc_files: list[Path] = Field(default_factory=list)
    log_file: Path | None = None
    exit_code: int | None = None
    timed_out: bool = Field(default=False, description="Stopped by its time bound rather than finishing.")
    interrupted: bool = Field(default=False, description="Stopped by the user (Ctrl-C).")
    worker: str | None = Field(default=None, description="Worker name when the frontier is shared (Redis).")


@contextlib.contextmanager
def _ctrl_c_as_flag():
    """While waiting on a crawl in the main thread, Ctrl-C sets a flag the wait loop reads.

    A KeyboardInterrupt raised at an arbitrary point (inside a progress display's refresh, say)
    could leave a lock held and the command hanging with its crawl child still running; a flag is
    read between polls, so the child is always stopped. Other threads keep the default behaviour.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class CrawlProcess:
    """A running crawl child; `stop()` asks it to finish cleanly (state kept in JOBDIR), `wait()` reports."""

    def __init__(self, job: CrawlJob, popen: subprocess.Popen[bytes], started_at: datetime, tmp: Path) -> None:
        self.job = job
        self.popen = popen
        self.started_at = started_at
        self._tmp = tmp
        self.report: CrawlReport | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)

    def _stop_or_kill(self, errors: list[str]) -> None:
        self.stop()
        try:
            self.popen.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            errors.append("crawl ignored the interrupt and was killed; its JOBDIR may not resume cleanly")

    def wait(self, timeout_s: float | None = None, on_tick: Callable[[float], None] | None = None) -> CrawlReport:
        """Wait for the child, enforcing `timeout_s` (plus a grace period for Scrapy's own clean stop).

        `on_tick(elapsed seconds)` is called while waiting (progress displays). Ctrl-C asks the
        child to stop cleanly, waits for it, then raises `KeyboardInterrupt` with the partial
        report in `self.report`.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s + STOP_GRACE_S
        started = time.monotonic()
        errors: list[str] = []
        timed_out = interrupted = False
        with _ctrl_c_as_flag() as asked_to_stop:
            try:
                while self.popen.poll() is None:
                    if asked_to_stop.is_set():
                        raise KeyboardInterrupt
                    if deadline is not None and time.monotonic() >= deadline:
                        timed_out = True
                        errors.append(f"crawl did not stop within {timeout_s:.0f}s + {STOP_GRACE_S:.0f}s; interrupted")
                        self._stop_or_kill(errors)
                        break
                    if on_tick:
                        on_tick(time.monotonic() - started)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.popen.wait(timeout=POLL_S)
            except KeyboardInterrupt:
                interrupted = True
                errors.append("crawl interrupted by the user")
                self._stop_or_kill(errors)
        report = self._read_report(errors)
        report.timed_out = timed_out or report.finish_reason == "closespider_timeout"
        report.interrupted = interrupted
        self.report = report
        if interrupted:
            raise KeyboardInterrupt
        if report.finish_reason == "finished" and self.job.jobdir is not None:
            # The job is complete: a kept JOBDIR would make the next scheduled crawl skip every page as seen.
            shutil.rmtree(self.job.jobdir, ignore_errors=True)
        if report.pages_fetched == 0 and any(e.startswith("could not reach") for e in report.errors):
            raise ServiceUnavailable(
                f"Source {self.job.source.name}: no page could be fetched ({report.errors[0]}); "
                "check that the site is up and start_urls are right."
            )
        return report

    def _read_report(self, errors: list[str]) -> CrawlReport:
        base = CrawlReport(
            source=self.job.source.name,
            started_at=self.started_at,
            finished_at=utcnow(),
            output=self.job.output,
            log_file=self.job.log_file,
            exit_code=self.popen.returncode,
            worker=self.job.worker.worker if self.job.worker else None,
        )
        if self.job.report.exists():
            data = json.loads(self.job.report.read_text(encoding="utf-8"))
            base = CrawlReport.model_validate({**base.model_dump(), **data})
        elif self.popen.returncode:
            errors.append(f"crawl process exited with code {self.popen.returncode}; see {self.job.log_file}")
        base.errors = [*base.errors, *errors]
        base.warnings = crawl_warnings(self.job.source, base)
        self.job.report.unlink(missing_ok=True)
        (self._tmp / "job.json").unlink(missing_ok=True)
        self._tmp.rmdir()
        return base


def crawl_warnings(source: SourceConfig, report: CrawlReport) -> list[str]:
    """What a finished crawl should tell a person even when nothing failed: the quiet ways of getting nothing."""
    warnings = []
    if not source.follows_pages:
        warnings.append(
            f"links.next_pages is not set for {source.name}: only its start URLs were read as index pages "
            "(set links.next_pages to follow pagination)"
        )
    if report.listings_written == 0 and not report.errors:
        warnings.append(
            f"the crawl of {source.name} wrote 0 listings from {report.pages_fetched} page(s): check links.listings "
            "(or feed:/api:) and fields with `listingwatch sources check` and a short `crawl --max-pages 20`"
        )
    if report.lost:
        warnings.append(f"{report.lost} page(s) were lost behind the login wall (see lost_urls in the report)")
    if not_read := report.skipped.get("photo_not_read"):
        warnings.append(
            f"{not_read} photo(s) were not read by OCR (the stage's time budget ran out, a WARC record was missing, "
            "or the crawl queued more photos than the OCR queue holds): text in them was not searched"
        )
    return warnings


def _process_tag(worker: WorkerSlot | None) -> str:
    """Log names must differ between workers started by one parent in the same second."""
    return worker.worker if worker else str(os.getpid())


class CrawlOptions(TypedDict, total=False):
    """Where one crawl writes and how far it goes: the keyword arguments of `start_crawl` and `run_crawl`."""

    output: Required[Path]
    jobdir: Path | None
    max_pages: int | None
    timeout_s: float | None


def start_crawl(
    source: SourceConfig, settings: Settings, *, worker: WorkerSlot | None = None, **options: Unpack[CrawlOptions]
) -> CrawlProcess:
    """Start the crawl child and return at once; with `worker`, it joins a shared Redis frontier (no JOBDIR)."""
    output, jobdir = options["output"], options.get("jobdir")
    started = utcnow()
    dirs = evidence_dirs(settings, source.name)
    dirs["logs"].mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"listingwatch-crawl-{source.name}-"))
    jobdir = None if worker is not None else jobdir
    append = jobdir is not None and (Path(jobdir) / "requests.seen").exists()
    job = CrawlJob(
        source=source,
        settings=settings.model_dump(mode="json"),
        output=Path(output).resolve(),
        append=append,
        jobdir=Path(jobdir).resolve() if jobdir else None,
        max_pages=options.get("max_pages"),
        timeout_s=options.get("timeout_s"),
        log_file=dirs["logs"] / f"{source.name}-{started:%Y%m%dT%H%M%SZ}-{_process_tag(worker)}.log",
        report=tmp / "report.json",
        worker=worker,
    )
    (tmp / "job.json").write_text(job.model_dump_json(), encoding="utf-8")
    popen = subprocess.Popen(
        [sys.executable, "-m", "crawlers.process", str(tmp / "job.json")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=str(settings.home),
        start_new_session=True,  # the terminal's Ctrl-C goes to the parent, which stops the child cleanly
    )
    return CrawlProcess(job, popen, started, tmp)


def run_crawl(source: SourceConfig, settings: Settings, **options: Unpack[CrawlOptions]) -> CrawlReport:
    """Crawl one source to JSONL + WARC (+ screenshots) and return the report; raises ServiceUnavailable if down."""
    timeout_s = crawl_timeout_s(source, settings, options.get("timeout_s"))
    options["timeout_s"] = timeout_s
    return start_crawl(source, settings, **options).wait(timeout_s)
