"""Loader throughput against a plain `helpers.bulk` of the same documents, measured in one run.

Both sides write the same records into fresh indices built from the same templates: one
listing document and one observation document per record. The baseline gets its documents
pre-built as dicts (serialisation outside its timer) and blindly indexes them; the loader's
time includes everything it does (JSON encoding, partial-doc upserts, per-item accounting).
Rounds alternate baseline/loader and the best of each is reported, which damps the noise of
a shared 2-core machine.

    .venv/bin/python benchmarks/bench_index.py --docs 20000
"""

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from elasticsearch import Elasticsearch, helpers
from listing_words import DRUG_WORDS, SALE_WORDS

from core.schema import Listing
from core.settings import Settings, load_settings
from index_config.client import get_client
from index_config.documents import observation_id
from index_config.loader import load_listings
from index_config.manage import delete_indices, init_indices, listings_alias, observations_alias
from index_config.node import ensure_node

WORDS = DRUG_WORDS + SALE_WORDS

T = TypeVar("T")


def make_listing(i: int, rng: random.Random, fetched_at: datetime) -> Listing:
    """A listing of realistic size (about 2 KB of JSON) with contacts, crypto and a verdict."""
    text = " ".join(rng.choices(WORDS, k=rng.randint(120, 260)))
    return Listing.model_validate(
        {
            "url": f"https://market{i % 40}.example/listing/{i}?ref=feed",
            "source": f"market{i % 40}",
            "platform": "marketplace",
            "http_status": 200,
            "fetched_at": fetched_at,
            "title": " ".join(rng.choices(WORDS, k=8)),
            "description": text,
            "price": round(rng.uniform(5, 500), 2),
            "currency": "USD",
            "seller": {"name": f"vendor{i % 500}", "profile_url": f"https://market{i % 40}.example/u/{i % 500}"},
            "contacts": {"telegram": [f"@plug{i % 300}"], "wickr": [f"wk{i % 200}"], "phone": ["+15555550100"]},
            "crypto": [{"currency": "BTC", "address": f"bc1q{i:038d}", "valid_checksum": True}],
            "shipping": {"origin": ["US"], "destination": ["US", "CA"]},
            "images": [f"https://market{i % 40}.example/img/{i}.jpg"],
            "evidence": {
                "warc_file": "var/warc/crawl-0001.warc.gz",
                "warc_offset": i * 4096,
                "body_sha256": f"{i:064x}",
                "captured_at": fetched_at,
            },
            "classification": {
                "score": rng.random(),
                "flagged": rng.random() > 0.5,
                "threshold": 0.5,
                "substances": ["fentanyl"],
                "labels": {"fentanyl": 0.9},
                "model_version": "bench-1",
            },
        }
    )


def baseline_actions(listings: list[Listing], settings: Settings) -> list[dict[str, object]]:
    actions: list[dict[str, object]] = []
    for listing in listings:
        doc = listing.model_dump(mode="json")
        doc.update(first_seen=doc["fetched_at"], last_seen=doc["fetched_at"], takedown={"status": "none"})
        actions.append({"_index": listings_alias(settings), "_id": listing.id, "_source": doc})
        observation = {"listing_id": listing.id, "url": listing.url, "fetched_at": doc["fetched_at"]}
        observation["evidence"] = doc["evidence"]
        actions.append({"_index": observations_alias(settings), "_id": observation_id(listing), "_source": observation})
    return actions


def timed(run: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def fresh(client: Elasticsearch, settings: Settings) -> None:
    delete_indices(client, settings)
    init_indices(client, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000, help="records per round (10k-100k)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=None, help="records per bulk request (default: settings)")
    args = parser.parse_args()

    base = load_settings()
    ensure_node(base)
    chunk = args.chunk or base.es.bulk_chunk_size
    baseline_settings = base.model_copy(update={"es": base.es.model_copy(update={"index_prefix": "bench-baseline"})})
    loader_settings = base.model_copy(
        update={"es": base.es.model_copy(update={"index_prefix": "bench-loader", "bulk_chunk_size": chunk})}
    )
    client = get_client(base, request_timeout=120)
    rng = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    listings = [make_listing(i, rng, start) for i in range(args.docs)]
    recrawl = [listing.model_copy(update={"fetched_at": start + timedelta(days=1)}) for listing in listings]
    actions = baseline_actions(listings, baseline_settings)

    best = {"baseline": float("inf"), "loader": float("inf"), "reload": float("inf")}
    for _ in range(args.rounds):
        fresh(client, baseline_settings)
        seconds, _ = timed(lambda: helpers.bulk(client, actions, chunk_size=2 * chunk, refresh=False))
        best["baseline"] = min(best["baseline"], seconds)
        fresh(client, loader_settings)
        seconds, new = timed(lambda: load_listings(listings, loader_settings, client))
        best["loader"] = min(best["loader"], seconds)
        seconds, again = timed(lambda: load_listings(recrawl, loader_settings, client))
        best["reload"] = min(best["reload"], seconds)
        if new.created != args.docs or again.updated != args.docs or new.failed or again.failed:
            raise SystemExit(f"loader did not write every record: {new} / {again}")
    for settings in (baseline_settings, loader_settings):
        delete_indices(client, settings)

    print(f"\nrecords={args.docs} (each = 1 listing + 1 observation document), chunk={chunk} records/request")
    print(f"{'run':<34}{'records':>9}{'seconds':>10}{'records/s':>12}{'docs/s':>10}{'vs baseline':>13}")
    rows = [
        ("plain helpers.bulk (baseline)", best["baseline"]),
        ("load_listings, new listings", best["loader"]),
        ("load_listings, re-crawl (updates)", best["reload"]),
    ]
    for name, seconds in rows:
        rate = args.docs / seconds
        docs = 2 * rate  # a listing document and an observation document per record
        ratio = best["baseline"] / seconds
        print(f"{name:<34}{args.docs:>9}{seconds:>10.2f}{rate:>12,.0f}{docs:>10,.0f}{ratio:>12.2f}x")


if __name__ == "__main__":
    main()
