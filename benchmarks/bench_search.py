"""Analyst search latency through the web API against the same queries sent straight to Elasticsearch.

Loads N generated listings (a realistic mix of text lengths, sites, platforms, substances,
languages and dates; contacts and crypto on a share of them) into an index prefix of its own on
the local node, starts `listingwatch app serve` on a free port, then runs typical faceted
searches both ways in the same run, interleaved: `GET /api/search` with a Bearer token, and
the exact request the API sends for a first page (`client.msearch` of the hits search and the
total-and-facets search, same filter_path). Prints p50/p95 per query and overall, and the API/ES
ratio. The shard request cache is switched off on the benchmark's index unless --request-cache
is given, so repeating a query measures the work, not the cache (both ways would hit it).

    .venv/bin/python benchmarks/bench_search.py --n 1000000     # the issue's size
    .venv/bin/python benchmarks/bench_search.py --n 100000 --rounds 30
    .venv/bin/python benchmarks/bench_search.py --n 100000 --reuse  # keep the loaded index between runs
"""

import argparse
import itertools
import json
import math
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import ApiError, Elasticsearch
from listing_words import DRUG_WORDS, SALE_WORDS

from core.settings import Settings, get_settings
from core.store import session_scope
from core.store.users import add_user, create_token
from core.urls import listing_id
from index_config.client import get_client
from index_config.manage import delete_indices, init_indices, listings_alias
from index_config.node import ensure_node
from index_config.search import FILTER_PATH, SearchParams, first_page_searches, parse_params

COMMON = [
    "the",
    "and",
    "for",
    "with",
    "from",
    "this",
    "that",
    "you",
    "our",
    "are",
    "all",
    "new",
    "best",
    "quality",
    "in",
    "of",
    "to",
    "a",
    "on",
    "at",
    "by",
    "we",
    "your",
    "per",
    "each",
    "only",
    "now",
    "free",
    "same",
    "day",
    "week",
    "month",
    "available",
    "stock",
    "product",
    "item",
    "price",
    "lot",
    "box",
    "pack",
    "grams",
    "gram",
    "ounce",
]
SUBSTANCES = ["fentanyl", "counterfeit_pill", "methamphetamine", "nitazene", "xylazine", "other_drug", "precursor"]
PLATFORMS = ["marketplace", "forum", "classifieds", "social", "shop", "channel"]
LANGUAGES = ["en"] * 7 + ["es"] * 2 + ["fr"]
T_END = datetime(2026, 11, 30, tzinfo=UTC)


def vocabulary(rng: random.Random, size: int = 6_000) -> tuple[list[str], list[float]]:
    """Words with cumulative Zipf weights: drug and sale words are mid-frequency, filler words common, the tail rare.

    Cumulative weights so that `rng.choices(words, cum_weights=...)` does not re-add 6,000 weights per call.
    """
    syllables = ["ka", "lo", "mi", "tre", "zon", "qui", "pa", "ver", "dul", "sen", "ro", "ba", "nix", "tal"]
    tail = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(size)}
    words = COMMON + DRUG_WORDS + SALE_WORDS + sorted(tail)
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(words))]
    return words, list(itertools.accumulate(weights))


def make_doc(i: int, rng: random.Random, words: list[str], cum_weights: list[float]) -> dict[str, Any]:
    site_n = int(rng.paretovariate(1.2)) % 40
    site = f"market{site_n}.example"
    url = f"https://{site}/listing/{i}"
    length = int(min(600, rng.lognormvariate(3.8, 0.8)))  # 10..600 words, median ~45
    first = T_END - timedelta(days=rng.uniform(0, 365))
    last = min(T_END, first + timedelta(days=rng.expovariate(1 / 20)))
    flagged = rng.random() < 0.4
    score = rng.betavariate(5, 2) if flagged else rng.betavariate(1.2, 6)
    substances = sorted(set(rng.choices(SUBSTANCES, weights=[5, 5, 3, 1, 1, 2, 0.5], k=rng.randint(1, 2))))
    doc: dict[str, Any] = {
        "id": listing_id(url),
        "url": url,
        "source": f"market{site_n}",
        "platform": PLATFORMS[site_n % len(PLATFORMS)],
        "site": site,
        "page_kind": "listing",
        "render_mode": "http",
        "http_status": 200,
        "fetched_at": last.isoformat(),
        "first_seen": first.isoformat(),
        "last_seen": last.isoformat(),
        "language": rng.choice(LANGUAGES),
        "title": " ".join(rng.choices(words, cum_weights=cum_weights, k=rng.randint(4, 14))),
        "description": " ".join(rng.choices(words, cum_weights=cum_weights, k=length)),
        "price": round(rng.lognormvariate(4, 1), 2) if rng.random() < 0.8 else None,
        "currency": "USD",
        "seller": {"name": f"vendor{rng.randint(0, 20_000)}"},
        "classification": {
            "score": round(score, 4),
            "flagged": flagged,
            "threshold": 0.5,
            "substances": substances if flagged else [],
            "model_version": "bench-1",
        },
        "takedown": {"status": rng.choices(["none", "reported", "removed"], [90, 7, 3])[0]},
        "evidence": {"body_sha256": f"{i:064x}", "captured_at": last.isoformat()},
    }
    if rng.random() < 0.6:
        doc["contacts"] = {"telegram": [f"@plug{rng.randint(0, 50_000)}"]}
    if rng.random() < 0.3:
        doc["crypto"] = [{"currency": "BTC", "address": f"bc1q{rng.randint(0, 10**12):038d}"}]
    if rng.random() < 0.05:
        doc["triage"] = {
            "status": rng.choice(["confirmed", "false_positive", "needs_review"]),
            "by": "bench",
            "at": last.isoformat(),
        }
    return doc


_VOCAB: dict[int, tuple[list[str], list[float]]] = {}


def bulk_body(index: str, start: int, stop: int, seed: int) -> bytes:
    """The NDJSON bulk body for documents start..stop-1, serialised once (runs in a generator process).

    Each chunk has its own random stream (seeded by the run's seed and the chunk's start), so
    chunks can be made in any order or process and the data set is still the same for one seed.
    """
    if seed not in _VOCAB:
        _VOCAB[seed] = vocabulary(random.Random(seed))
    words, cum_weights = _VOCAB[seed]
    rng = random.Random(seed * 1_000_003 + start)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    lines = []
    for i in range(start, stop):
        doc = make_doc(i, rng, words, cum_weights)
        lines.append(f'{{"index":{{"_index":"{index}","_id":"{doc["id"]}"}}}}')
        lines.append(dumps(doc))
    lines.append("")
    return "\n".join(lines).encode()


def _bulk_body(task: tuple[str, int, int, int]) -> tuple[bytes, int]:
    index, start, stop, seed = task
    return bulk_body(index, start, stop, seed), stop - start


def _send(client: Elasticsearch, body: bytes, retries: int = 8) -> None:
    """One bulk request; whole-request 429s and per-document 429s are retried with backoff."""
    for attempt in range(retries + 1):
        try:
            reply = client.bulk(operations=body, refresh=False)
        except ApiError as err:
            if err.status_code != 429 or attempt == retries:
                raise
            time.sleep(0.5 * 2**attempt)
            continue
        if not reply["errors"]:
            return
        failed = [item["index"] for item in reply["items"] if item["index"].get("status", 200) >= 300]
        if attempt == retries or any(f["status"] != 429 for f in failed):
            raise SystemExit(f"bulk load failed: {failed[:3]}")
        time.sleep(0.5 * 2**attempt)  # resending the whole chunk is safe: documents have fixed ids
    raise SystemExit("bulk load kept being rejected (429)")


def load(
    client: Elasticsearch,
    settings: Settings,
    n: int,
    seed: int,
    chunk: int = 4_000,
    workers: int = 1,
    inflight: int = 2,
) -> float:
    """Bulk-load N documents; returns seconds taken.

    Documents are generated and serialised to NDJSON in `workers` separate processes, and sent
    `inflight` bulk requests at a time; refresh is off and replicas are 0 while loading, then the
    index settings are restored, refreshed and merged down to a few segments.
    """
    index = listings_alias(settings)
    before = client.indices.get_settings(index=index, flat_settings=True)
    old = next(iter(before.values()))["settings"]
    restore = {
        "index.refresh_interval": old.get("index.refresh_interval", "1s"),
        "index.number_of_replicas": old.get("index.number_of_replicas", "0"),
    }
    client.indices.put_settings(index=index, settings={"index.refresh_interval": "-1", "index.number_of_replicas": 0})
    tasks = [(index, start, min(n, start + chunk), seed) for start in range(0, n, chunk)]
    started = time.monotonic()
    done = next_report = 0
    try:
        with (
            multiprocessing.get_context("spawn").Pool(workers) as pool,
            ThreadPoolExecutor(inflight) as senders,
        ):
            pending: list[Future[None]] = []
            for body, count in pool.imap(_bulk_body, tasks):
                while len(pending) >= inflight:
                    pending.pop(0).result()
                pending.append(senders.submit(_send, client, body))
                done += count
                if done >= next_report:
                    rate = done / max(time.monotonic() - started, 1e-9)
                    print(f"  queued {done:,} of {n:,} ({rate:,.0f} docs/s)", flush=True)
                    next_report += 100_000
            for fut in pending:
                fut.result()
    finally:
        client.indices.put_settings(index=index, settings=restore)
    loaded = time.monotonic() - started
    print(f"  indexed {n:,} in {loaded:.0f} s ({n / loaded:,.0f} docs/s); refreshing and merging", flush=True)
    client.indices.refresh(index=index)
    client.options(request_timeout=3_600).indices.forcemerge(index=index, max_num_segments=4)
    return time.monotonic() - started


QUERIES: dict[str, dict[str, Any]] = {
    "flagged, by score": {"flagged": True},
    "words": {"q": "fentanyl pressed", "flagged": True},
    "phrase + site": {"q": '"m30 blues"', "site": ["market1.example", "market2.example"]},
    "handle field": {"q": "telegram:plug1234"},
    "substance + score + newest": {"substance": ["fentanyl"], "score_min": 0.9, "sort": "newest"},
    "crypto + dates + price": {"has_crypto": True, "first_seen_from": "2026-09-01", "sort": "price"},
    "exclusion + triage": {"q": "pills -xanax", "triage": ["untriaged"], "language": ["en"]},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(settings: Settings, var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "LISTINGWATCH_ES__PORT": str(settings.es.port),
        "LISTINGWATCH_ES__INDEX_PREFIX": settings.es.index_prefix,
        "LISTINGWATCH_VAR_DIR": str(var_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "listingwatch", "app", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/login", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the web app did not start")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="listings to generate and load")
    parser.add_argument("--rounds", type=int, default=30, help="times each query runs each way (after a warm-up)")
    parser.add_argument("--prefix", default="bench-search", help="index prefix of the benchmark's own indices")
    parser.add_argument("--reuse", action="store_true", help="keep an index already holding N documents")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--request-cache", action="store_true", help="leave the shard request cache on")
    parser.add_argument("--chunk", type=int, default=4_000, help="documents per bulk request")
    parser.add_argument("--workers", type=int, default=1, help="processes generating documents")
    parser.add_argument("--inflight", type=int, default=2, help="bulk requests in flight at once")
    args = parser.parse_args()

    base = get_settings()
    ensure_node(base)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    settings = base.model_copy(
        update={"var_dir": var_dir, "es": base.es.model_copy(update={"index_prefix": args.prefix})}
    )
    client = get_client(settings, request_timeout=600)
    count = (
        client.count(index=listings_alias(settings))["count"]
        if client.indices.exists(index=listings_alias(settings))
        else -1
    )
    if not (args.reuse and count == args.n):
        delete_indices(client, settings)
        init_indices(client, settings)
        print(f"loading {args.n:,} listings into {listings_alias(settings)} ...", flush=True)
        seconds = load(client, settings, args.n, args.seed, args.chunk, args.workers, args.inflight)
        print(f"loaded in {seconds:.0f} s ({args.n / seconds:,.0f} docs/s)")
    client.indices.put_settings(
        index=listings_alias(settings), settings={"index.requests.cache.enable": args.request_cache}
    )
    with session_scope(settings) as db:
        token = create_token(db, add_user(db, "bench", "analyst", "bench-password-123"))
    proc, url = start_app(settings, var_dir)
    es_ms: dict[str, list[float]] = {name: [] for name in QUERIES}
    api_ms: dict[str, list[float]] = {name: [] for name in QUERIES}
    totals: dict[str, int] = {}
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            for round_no in range(args.rounds + 1):
                for name, raw in QUERIES.items():
                    params: SearchParams = parse_params(raw)
                    searches = first_page_searches(params)
                    started = time.perf_counter()
                    es_reply = client.msearch(
                        index=listings_alias(settings), searches=searches, filter_path=FILTER_PATH
                    )
                    es_elapsed = (time.perf_counter() - started) * 1000
                    query = [
                        (k, str(v).lower() if isinstance(v, bool) else v)
                        for k, vs in raw.items()
                        for v in (vs if isinstance(vs, list) else [vs])
                    ]
                    started = time.perf_counter()
                    reply = http.get("/api/search", params=query)
                    api_elapsed = (time.perf_counter() - started) * 1000
                    reply.raise_for_status()
                    if round_no == 0:
                        totals[name] = reply.json()["total"]
                        assert totals[name] == es_reply["responses"][1]["hits"]["total"]["value"], name
                        continue  # warm-up: caches and connections
                    es_ms[name].append(es_elapsed)
                    api_ms[name].append(api_elapsed)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    print(f"\nN = {args.n:,} listings, {args.rounds} rounds per query, each way interleaved (ms)\n")
    header = f"{'query':<28} {'hits':>9} {'ES p50':>8} {'ES p95':>8} {'API p50':>8} {'API p95':>8} {'p95 ratio':>9}"
    print(header)
    print("-" * len(header))
    for name in QUERIES:
        e, a = es_ms[name], api_ms[name]
        print(
            f"{name:<28} {totals[name]:>9,} {pct(e, 50):>8.1f} {pct(e, 95):>8.1f} {pct(a, 50):>8.1f} "
            f"{pct(a, 95):>8.1f} {pct(a, 95) / pct(e, 95):>8.2f}x"
        )
    all_e = [v for vs in es_ms.values() for v in vs]
    all_a = [v for vs in api_ms.values() for v in vs]
    print("-" * len(header))
    print(
        f"{'all queries':<28} {'':>9} {pct(all_e, 50):>8.1f} {pct(all_e, 95):>8.1f} {pct(all_a, 50):>8.1f} "
        f"{pct(all_a, 95):>8.1f} {pct(all_a, 95) / pct(all_e, 95):>8.2f}x"
    )
    print(f"\nmean API overhead per request: {statistics.mean(all_a) - statistics.mean(all_e):.1f} ms")
    print("targets on the 2-core reference machine: API p95 <= 150 ms and within 1.5x of Elasticsearch alone")


if __name__ == "__main__":
    main()
