"""Several crawler processes on one source run, sharing the Redis frontier (`crawl.frontier: redis`).

Each worker is an ordinary crawl child (`crawlers.run.start_crawl`) with a `WorkerSlot`: it
writes its own JSONL and its own WARC files (``var/warc/<source>/<run>/<worker>/``), so
workers never share a file handle; the run's listings are the merge of the workers' files.
The same source YAML runs in both modes.
"""

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from core.errors import ConfigError, ServiceUnavailable
from core.settings import Settings
from core.urls import listing_id
from crawlers.frontier import FrontierKeys, WorkerSlot, connect, new_worker_name
from crawlers.run import CrawlProcess, CrawlReport, crawl_timeout_s, start_crawl
from crawlers.sources import SourceConfig


class DistributedReport(BaseModel):
    """One run's workers and their merged output."""

    source: str
    run_id: str
    workers: list[CrawlReport]
    output: Path
    listings: int

    @property
    def pages_fetched(self) -> int:
        return sum(w.pages_fetched for w in self.workers)

    @property
    def warc_files(self) -> list[Path]:
        return [p for w in self.workers for p in w.warc_files]

    @property
    def errors(self) -> list[str]:
        return [f"{w.worker}: {e}" for w in self.workers for e in w.errors]

    @property
    def elapsed_s(self) -> float:
        return max((w.elapsed_s or 0.0 for w in self.workers), default=0.0)


def worker_slot(settings: Settings, run_id: str, label: str) -> WorkerSlot:
    """A slot in run `run_id` of the shared frontier; raises a ConfigError if the settings name no Redis."""
    crawl = settings.crawl
    if not crawl.redis_url:
        raise ConfigError(
            "Distributed crawling needs crawl.redis_url; set LISTINGWATCH_CRAWL__FRONTIER=redis and "
            "LISTINGWATCH_CRAWL__REDIS_URL=redis://HOST:6379/0 (or the same keys in listingwatch.yaml)."
        )
    if "%" in run_id or ":" in run_id:
        raise ConfigError(f"Run id {run_id!r} may not contain '%' or ':'; use letters, digits, '-', '_' or 'T'.")
    return WorkerSlot(
        redis_url=crawl.redis_url,
        run_id=run_id,
        worker=new_worker_name(label),
        lease_s=crawl.worker_lease_s,
        ttl_hours=crawl.frontier_ttl_hours,
    )


def start_workers(
    source: SourceConfig,
    settings: Settings,
    *,
    run_id: str,
    workers: int,
    output_dir: Path,
    max_pages: int | None = None,
    timeout_s: float | None = None,
) -> list[CrawlProcess]:
    """Start `workers` crawl children on one shared frontier; each writes ``<output_dir>/<worker>.jsonl``."""
    slots = [worker_slot(settings, run_id, f"w{n}") for n in range(1, workers + 1)]
    connect(slots[0].redis_url)  # one clear error before starting processes that would each fail
    output_dir.mkdir(parents=True, exist_ok=True)
    return [
        start_crawl(
            source,
            settings,
            output=output_dir / f"{slot.worker}.jsonl",
            max_pages=max_pages,
            timeout_s=timeout_s,
            worker=slot,
        )
        for slot in slots
    ]


def merge_outputs(parts: Iterable[Path], output: Path) -> int:
    """Concatenate worker files into one, one line per listing id (a re-queued page may be fetched twice)."""
    seen: set[str] = set()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for part in parts:
            if not part.exists():
                continue
            with part.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        key = listing_id(json.loads(line)["url"], keep_fragments=True)
                    except (ValueError, KeyError, TypeError):
                        continue  # a line torn by a killed worker: its page was re-queued and fetched again
                    if key not in seen:
                        seen.add(key)
                        out.write(line if line.endswith("\n") else line + "\n")
    tmp.replace(output)
    return len(seen)


def wait_workers(
    source: SourceConfig, run_id: str, processes: list[CrawlProcess], output: Path, timeout_s: float | None = None
) -> DistributedReport:
    """Wait for every worker (one that fails does not stop the others) and merge their outputs."""
    reports: list[CrawlReport] = []
    failures: list[ServiceUnavailable] = []
    for process in processes:
        try:
            reports.append(process.wait(timeout_s))
        except ServiceUnavailable as err:
            failures.append(err)
    if failures and not reports:
        raise failures[0]
    listings = merge_outputs((p.job.output for p in processes), output)
    return DistributedReport(source=source.name, run_id=run_id, workers=reports, output=output, listings=listings)


def run_workers(
    source: SourceConfig,
    settings: Settings,
    *,
    run_id: str,
    workers: int,
    output: Path,
    max_pages: int | None = None,
    timeout_s: float | None = None,
) -> DistributedReport:
    """Crawl one source with `workers` local processes; the listings end up merged in `output`."""
    timeout_s = crawl_timeout_s(source, settings, timeout_s)
    parts = output.parent / f"{output.stem}.workers"
    processes = start_workers(
        source, settings, run_id=run_id, workers=workers, output_dir=parts, max_pages=max_pages, timeout_s=timeout_s
    )
    return wait_workers(source, run_id, processes, output, timeout_s)


def frontier_state(settings: Settings, source: str, run_id: str) -> dict[str, int]:
    """Queue length, fingerprints seen and requests in flight for one run (for status and tests)."""
    keys = FrontierKeys(source, run_id)
    client = connect(worker_slot(settings, run_id, "status").redis_url)
    workers = [w.decode() for w in client.zrange(keys.workers, 0, -1)]
    return {
        "queued": client.llen(keys.queue),
        "seen": client.scard(keys.seen),
        "workers": len(workers),
        "in_flight": sum(client.llen(keys.processing(w)) for w in workers),
    }
