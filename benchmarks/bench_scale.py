"""Scale-out capacity: distributed crawl throughput by worker count, and end-to-end listings per hour.

1. Crawl: the same local site (classifieds) crawled in one run per row by 1, 2 and 4 worker
   processes on the shared Redis frontier, next to the single-process local frontier as the
   baseline measured in the same run. Rate = pages / wall-clock from starting the workers
   to the last one exiting (process start-up included: that is what adding workers costs), and
   pages / the slowest worker's own Scrapy crawl time (start-up excluded).
2. End to end on one machine: crawl (local frontier) -> classify (the active model, or a
   quick one trained here when none is promoted) -> index (the local node on
   LISTINGWATCH_TEST_ES_PORT or es.port, a throwaway prefix), as listings per hour of the
   three steps' summed time.

Rows are interleaved across repeats so background load hits them alike; the median is shown.
The machine this runs on may be shared: note its load next to the figures (docs/deploy.md).

    .venv/bin/python benchmarks/bench_scale.py [--repeats 3] [--workers 1 2 4]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import Settings, load_settings  # noqa: E402
from crawlers.distributed import run_workers  # noqa: E402
from crawlers.run import run_crawl  # noqa: E402
from crawlers.sources import SourceConfig, load_source  # noqa: E402
from listingwatch.demo.marketplaces.sites import start_sites  # noqa: E402
from tests.plugins.redis import start_redis  # noqa: E402

Run = tuple[int, float, float]  # pages, wall-clock seconds, Scrapy's crawl seconds (slowest worker)


def crawl_local(source: SourceConfig, settings: Settings, out: Path) -> Run:
    started = time.perf_counter()
    report = run_crawl(source, settings, output=out, timeout_s=600)
    assert report.finish_reason == "finished" and not report.errors, report
    return report.pages_fetched, time.perf_counter() - started, report.elapsed_s or 0.0


def crawl_distributed(source: SourceConfig, settings: Settings, out: Path, workers: int) -> Run:
    started = time.perf_counter()
    report = run_workers(
        source, settings, run_id=f"bench-{uuid.uuid4().hex[:8]}", workers=workers, output=out, timeout_s=600
    )
    assert all(w.finish_reason == "finished" for w in report.workers) and not report.errors, report
    return report.pages_fetched, time.perf_counter() - started, report.elapsed_s


def model_settings(settings: Settings, scratch: Path) -> Settings:
    """The settings' promoted model, else a quick model trained into `scratch` (reported as such)."""
    from classifiers.registry import active_model_dir

    if active_model_dir(settings) is not None:
        return settings
    from classifiers.export import export_model
    from classifiers.registry import promote
    from classifiers.train import train_model

    print("no promoted model: training the quick model for this benchmark ...", flush=True)
    trained = settings.model_copy(update={"model": settings.model.model_copy(update={"models_dir": scratch})})
    model_dir = train_model(trained, quick=True, seed=0)
    export_model(model_dir, trained.model.real_corpus)
    promote(trained, model_dir.name)
    return trained


def end_to_end(source: SourceConfig, settings: Settings, work: Path) -> dict[str, float]:
    from classifiers.inference import classify_file
    from index_config.client import get_client
    from index_config.loader import load_jsonl
    from index_config.manage import delete_indices, init_indices

    prefix = f"bench-scale-{uuid.uuid4().hex[:6]}"
    settings = settings.model_copy(update={"es": settings.es.model_copy(update={"index_prefix": prefix})})
    client = get_client(settings)
    init_indices(client, settings)
    try:
        crawled, classified = work / "crawled.jsonl", work / "classified.jsonl"
        _pages, crawl_s, _ = crawl_local(source, settings, crawled)
        started = time.perf_counter()
        result = classify_file(crawled, classified, settings)
        classify_s = time.perf_counter() - started
        started = time.perf_counter()
        report = load_jsonl(classified, settings)
        index_s = time.perf_counter() - started
        assert report.spooled == 0 and report.failed == 0, report
    finally:
        delete_indices(client, settings)
    listings = result.classified
    total = crawl_s + classify_s + index_s
    return {"listings": listings, "crawl": crawl_s, "classify": classify_s, "index": index_s, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--skip-e2e", action="store_true", help="Only the crawl rows (no model or node needed).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, start_sites() as server:
        tmp_path = Path(tmp)
        proc, redis_url = start_redis(tmp_path)
        try:
            os.environ["LISTINGWATCH_SITES_URL"] = server.url
            source = load_source(ROOT / "crawlers/sources/classifieds.yaml")
            port = int(os.environ.get("LISTINGWATCH_TEST_ES_PORT", "0")) or None
            settings = load_settings(
                var_dir=tmp_path / "var",
                crawl={"frontier": "redis", "redis_url": redis_url},
                **({"es": {"port": port, "transport_port": port + 100}} if port else {}),
            )
            runs: dict[str, list[Run]] = {"local": []} | {f"redis x{n}": [] for n in args.workers}
            for repeat in range(args.repeats):
                runs["local"].append(crawl_local(source, settings, tmp_path / f"local-{repeat}.jsonl"))
                for n in args.workers:
                    out = tmp_path / f"redis-{n}-{repeat}.jsonl"
                    runs[f"redis x{n}"].append(crawl_distributed(source, settings, out, n))
            baseline = statistics.median(p / s for p, s, _ in runs["local"])
            print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores: {os.cpu_count()}")
            print(
                f"{'crawl (classifieds)':<20} {'pages':>6} {'wall s':>7} {'pages/s':>8} {'vs local':>9} "
                f"{'scrapy s':>9} {'pages/s':>8}"
            )
            for name, values in runs.items():
                rate = statistics.median(p / s for p, s, _ in values)
                seconds = statistics.median(s for _, s, _ in values)
                crawl_s = statistics.median(c for _, _, c in values)
                print(
                    f"{name:<20} {values[0][0]:>6} {seconds:>7.2f} {rate:>8.1f} {rate / baseline:>9.2f} "
                    f"{crawl_s:>9.2f} {values[0][0] / crawl_s:>8.1f}"
                )

            if not args.skip_e2e:
                from index_config.node import ensure_node, node_status, stop_node

                already_running = node_status(settings)["running"]
                ensure_node(settings)
                try:
                    settings = model_settings(settings, tmp_path / "models")
                    rows = [end_to_end(source, settings, Path(tempfile.mkdtemp(dir=tmp))) for _ in range(args.repeats)]
                finally:
                    if not already_running:  # a node this benchmark started must not outlive it
                        stop_node(settings)
                mid = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
                per_hour = mid["listings"] / mid["total"] * 3600
                print(
                    f"end to end, one machine: {mid['listings']:.0f} listings in {mid['total']:.1f}s "
                    f"(crawl {mid['crawl']:.1f}s, classify {mid['classify']:.1f}s, index {mid['index']:.1f}s) "
                    f"= {per_hour:,.0f} listings/hour"
                )
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
