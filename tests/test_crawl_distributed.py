"""Several crawler processes share one Redis frontier: each page once between them, nothing lost to a killed worker."""

import signal
import time
from pathlib import Path

import pytest
import redis

from core.settings import Settings, load_settings
from crawlers.distributed import frontier_state, merge_outputs, run_workers, start_workers, wait_workers
from crawlers.frontier import FrontierKeys
from crawlers.run import CrawlProcess
from crawlers.sources import SourceConfig
from listingwatch.demo.marketplaces.sites import start_sites
from tests.plugins.sites import demo_source, read_listings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LISTINGS = 200  # the classifieds board's size


def _settings(tmp_path: Path, redis_url: str) -> Settings:
    return load_settings(
        var_dir=tmp_path / "var",
        crawl={"frontier": "redis", "redis_url": redis_url, "worker_lease_s": 3.0},
    )


def _slowed(source: SourceConfig, delay: float = 0.02) -> SourceConfig:
    """A small per-request delay so every worker gets a share and a kill lands mid-crawl."""
    polite = source.politeness.model_copy(update={"concurrency_per_domain": 2, "download_delay": delay})
    # Photos are fetched beside the frontier, not through it (a photo shared by listings two workers
    # crawl is fetched by each): these tests count the frontier's pages, so photos are left off.
    photos = source.photos.model_copy(update={"enabled": False})
    return source.model_copy(update={"politeness": polite, "photos": photos})


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0


def _kill_one_holding_requests(
    processes: list[CrawlProcess],
    client: redis.Redis,
    keys: FrontierKeys,
    *,
    min_lines: int = 10,
    timeout_s: float = 60,
) -> tuple[CrawlProcess, int]:
    """SIGKILL the first worker seen holding requests after writing `min_lines` listings: (it, how many it held).

    Not a worker chosen in advance: an idle worker asks the shared queue again only on Scrapy's
    engine heartbeat, so on a loaded machine one worker may get nothing (or too little) and
    finish while the others crawl. Polling the in-flight list and then killing would race the
    worker (it may acknowledge its last request in between), so the worker is first frozen
    with SIGSTOP: a stopped process sends Redis nothing more, and after a moment for Redis to
    run what it had already sent, the list read is exactly what the kill leaves behind. If it
    is empty, the worker resumes (SIGCONT) and the next moment is tried.
    """
    deadline = time.monotonic() + timeout_s
    tries = 0
    while time.monotonic() < deadline and any(p.popen.poll() is None for p in processes):
        for process in processes:
            assert process.job.worker is not None
            processing = keys.processing(process.job.worker.worker)
            if process.popen.poll() is not None or _lines(process.job.output) < min_lines:
                continue
            if not client.llen(processing):
                continue
            tries += 1
            process.popen.send_signal(signal.SIGSTOP)
            time.sleep(0.05)
            held = client.llen(processing)
            if held > 0:
                process.popen.send_signal(signal.SIGKILL)
                process.popen.wait()
                return process, held
            process.popen.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    written = [_lines(p.job.output) for p in processes]
    codes = [p.popen.poll() for p in processes]
    for process in processes:
        process.stop()
    pytest.fail(
        f"no worker held a request after writing {min_lines} listings ({written} written, "
        f"{tries} tries, exit codes {codes})"
    )


def test_two_workers_fetch_every_listing_exactly_once(tmp_path: Path, redis_url: str) -> None:
    settings = _settings(tmp_path, redis_url)
    with start_sites() as server:
        # Slow enough (about 10 s) that the second process is up before the first has done everything.
        source = _slowed(demo_source("classifieds", server), delay=0.05)
        report = run_workers(
            source, settings, run_id="once", workers=2, output=tmp_path / "merged.jsonl", timeout_s=120
        )

    assert [w.finish_reason for w in report.workers] == ["finished", "finished"]
    pages = {path: n for path, n in server.hits.items() if path != "/robots.txt"}
    assert set(pages.values()) == {1}, {p: n for p, n in pages.items() if n != 1}
    assert report.pages_fetched == len(pages)
    assert all(w.pages_fetched > 0 for w in report.workers), "one worker did all the work"

    parts = [read_listings(tmp_path / "merged.workers" / f"{w.worker}.jsonl") for w in report.workers]
    urls = [item.url for part in parts for item in part]
    assert len(urls) == len(set(urls)) == LISTINGS == report.listings
    assert len(read_listings(tmp_path / "merged.jsonl")) == LISTINGS

    # Each worker has WARC files of its own, all listed in the run's report.
    dirs = {Path(p).parent for p in report.warc_files}
    assert len(dirs) == 2 and all(d.parent.name == "once" for d in dirs)
    assert all(Path(p).stat().st_size > 0 for p in report.warc_files)
    assert frontier_state(settings, source.name, "once") == {
        "queued": 0,
        "seen": len(pages),
        "workers": 0,
        "in_flight": 0,
    }

    # A worker joining the finished run finds its start URL seen and fetches nothing again.
    with start_sites() as again:
        late = run_workers(
            _slowed(demo_source("classifieds", again)).model_copy(update={"start_urls": source.start_urls}),
            settings,
            run_id="once",
            workers=1,
            output=tmp_path / "late.jsonl",
            timeout_s=60,
        )
    assert late.pages_fetched == 0 and late.workers[0].finish_reason == "finished"


def test_killed_worker_loses_no_request(tmp_path: Path, redis_url: str) -> None:
    settings = _settings(tmp_path, redis_url)
    keys_client = redis.Redis.from_url(redis_url)
    with start_sites() as server:
        source = _slowed(demo_source("classifieds", server))
        keys = FrontierKeys(source.name, "kill")
        processes = start_workers(
            source, settings, run_id="kill", workers=3, output_dir=tmp_path / "parts", timeout_s=120
        )
        victim, held = _kill_one_holding_requests(processes, keys_client, keys)
        assert victim.job.worker is not None
        # Read again now the worker is dead: what it held at the kill is still there (or already re-queued
        # by a survivor whose heartbeat found the lease expired, which only makes the list shorter).
        in_flight = keys_client.llen(keys.processing(victim.job.worker.worker))
        assert 0 < in_flight <= held, "the kill landed when the worker held no request; the test proves nothing"
        survivors = [p for p in processes if p is not victim]

        report = wait_workers(source, "kill", survivors, tmp_path / "survivors.jsonl", timeout_s=120)

    assert [w.finish_reason for w in report.workers] == ["finished", "finished"]
    total = merge_outputs([p.job.output for p in processes], tmp_path / "all.jsonl")
    assert total == LISTINGS
    # Every page was fetched; only the dead worker's unacknowledged ones may have been fetched twice.
    pages = {path: n for path, n in server.hits.items() if path != "/robots.txt"}
    assert all(n >= 1 for n in pages.values())
    assert sum(n - 1 for n in pages.values()) <= in_flight
    assert keys_client.llen(keys.processing(victim.job.worker.worker)) == 0
    assert frontier_state(settings, source.name, "kill")["queued"] == 0


def test_airflow_fans_the_crawl_out_to_mapped_workers(tmp_path: Path, redis_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from airflow.sdk import TriggerRule

    from listingwatch.orchestration.dag_factory import build_source_dag
    from listingwatch.runs.crawl_fanout import crawl_worker_step, merge_worker_crawls
    from listingwatch.runs.paths import run_paths

    settings = _settings(tmp_path, redis_url)
    settings = settings.model_copy(update={"crawl": settings.crawl.model_copy(update={"workers": 3})})
    with start_sites() as server:
        source = _slowed(demo_source("classifieds", server))
        dag = build_source_dag(source, settings)
        worker, crawl = dag.get_task("crawl_worker"), dag.get_task("crawl")
        assert worker.op_kwargs_expand_input.value == {"worker": [1, 2, 3]}
        assert crawl.trigger_rule == TriggerRule.ALL_DONE
        assert crawl.upstream_task_ids == {"crawl_worker"} and crawl.downstream_task_ids == {"classify"}

        # What the three mapped task instances do, run side by side as Celery workers would.
        paths = run_paths(settings, source.name, "20261123T060000000000Z")
        with ThreadPoolExecutor(3) as pool:
            reports = list(pool.map(lambda n: crawl_worker_step(source, settings, paths, n), [1, 2, 3]))
        result = merge_worker_crawls(source, paths)

    assert all(r is not None and r.finish_reason == "finished" for r in reports)
    assert result.listings == LISTINGS and result.errors == 0
    urls = [item.url for item in read_listings(paths.crawled)]
    assert len(urls) == len(set(urls)) == LISTINGS
    # A cleared and rerun run re-uses its final capture: no worker crawls again.
    assert crawl_worker_step(source, settings, paths, 1) is None
    assert merge_worker_crawls(source, paths) == result
