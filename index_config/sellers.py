"""Seller clusters: listings linked by the identifiers their sellers reuse.

Sellers move between sites and rename themselves, but they keep what buyers need to reach and
pay them. Each listing yields identifiers as (kind, value) pairs — contact handles, phones,
emails, crypto addresses, the seller profile URL, and any photo hashes the crawler adds
(`photos[].phash`) — and listings whose descriptions are near-identical (MinHash LSH) are
linked directly. Connected components of that graph are the clusters. They are recomputed
from the listings index after each pipeline run into a fresh `<prefix>-sellers-<stamp>` index
and the `<prefix>-sellers` alias moves to it in one step, so readers never see a half-built set.

Only listings the model flagged or an analyst confirmed take part: they are what analysts chase,
and it keeps the MinHash work proportional to the flagged share rather than to the whole crawl.
"""

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from datasketch import MinHash, MinHashLSH
from elasticsearch import Elasticsearch, NotFoundError, helpers

from core.settings import Settings
from index_config.manage import alias_name, listings_alias

CONTACT_KINDS = ("phone", "email", "telegram", "wickr", "whatsapp", "signal", "snapchat")
SOURCE_FIELDS = [
    "id",
    "title",
    "description",
    "site",
    "platform",
    "first_seen",
    "last_seen",
    "seller.name",
    "seller.profile_url",
    "contacts",
    "crypto.address",
    "photos.phash",
    "classification.score",
    "classification.substances",
]
TEXT_THRESHOLD = 0.8
NUM_PERM = 128
LSH_SLACK = 0.7
MIN_SHINGLES = 6
MAX_GRAPH_EDGES = 400
SCAN_PAGE = 2_000
_WORD = re.compile(r"\w+")

MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "id": {"type": "keyword"},
        "size": {"type": "integer"},
        "listing_ids": {"type": "keyword"},
        "identifiers": {"properties": {"kind": {"type": "keyword"}, "value": {"type": "keyword", "ignore_above": 512}}},
        "identifier_count": {"type": "integer"},
        "seller_names": {"type": "keyword", "ignore_above": 512},
        "sites": {"type": "keyword", "ignore_above": 512},
        "platforms": {"type": "keyword", "ignore_above": 256},
        "substances": {"type": "keyword"},
        "first_seen": {"type": "date"},
        "last_seen": {"type": "date"},
        "max_score": {"type": "float"},
        "computed_at": {"type": "date"},
        "counts": {"type": "object", "enabled": False},
        "graph": {"type": "object", "enabled": False},
    },
}


def sellers_alias(settings: Settings) -> str:
    return alias_name(settings, "sellers")


def identifiers(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The (kind, value) pairs a listing's seller can be recognised by, normalised for matching."""
    out: list[tuple[str, str]] = []
    contacts = doc.get("contacts") or {}
    for kind in CONTACT_KINDS:
        for value in contacts.get(kind) or []:
            if isinstance(value, str) and value.strip():
                out.append((kind, value.strip().lower().lstrip("@") if kind != "phone" else value.strip()))
    for item in doc.get("crypto") or []:
        if isinstance(item, dict) and item.get("address"):
            out.append(("crypto", str(item["address"]).strip()))
    profile = (doc.get("seller") or {}).get("profile_url")
    if isinstance(profile, str) and profile.strip():
        out.append(("profile", profile.strip().lower().rstrip("/")))
    for photo in doc.get("photos") or []:
        if isinstance(photo, dict) and photo.get("phash"):
            out.append(("phash", str(photo["phash"]).lower()))
    return sorted(set(out))


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text.lower())
    return {" ".join(words[i : i + 3]).encode() for i in range(max(0, len(words) - 2))}


def similar_text_pairs(texts: Iterable[tuple[str, str]], threshold: float = TEXT_THRESHOLD) -> list[tuple[str, str]]:
    """(listing id, text) -> pairs of ids whose word-trigram sets are near-identical (Jaccard ~ threshold)."""
    # The index is tuned looser than `threshold` so that few true pairs are missed; each
    # candidate is then kept only if its estimated similarity reaches `threshold`.
    lsh = MinHashLSH(threshold=threshold * LSH_SLACK, num_perm=NUM_PERM)
    sketches: dict[str, MinHash] = {}
    pairs: list[tuple[str, str]] = []
    for listing_id, text in texts:
        shingles = _shingles(text)
        if len(shingles) < MIN_SHINGLES:
            continue  # short texts ("M30 blues") are alike by chance, not by author
        sketch = MinHash(num_perm=NUM_PERM)
        sketch.update_batch(list(shingles))
        pairs += [(o, listing_id) for o in sorted(lsh.query(sketch)) if sketches[o].jaccard(sketch) >= threshold]
        lsh.insert(listing_id, sketch)
        sketches[listing_id] = sketch
    return pairs


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class Cluster:
    listing_ids: list[str]
    edges: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (listing id, kind, value); kind "text" links two listings

    @property
    def id(self) -> str:
        return hashlib.sha256(min(self.listing_ids).encode()).hexdigest()[:16]


def build_clusters(docs: dict[str, dict[str, Any]]) -> list[Cluster]:
    """Connected components of listings joined through shared identifiers or near-identical text.

    A listing with no identifier and no look-alike is no cluster: there is nothing to tie it to.
    """
    uf = _UnionFind()
    edges: list[tuple[str, str, str]] = []
    for listing_id, doc in docs.items():
        for kind, value in identifiers(doc):
            edges.append((listing_id, kind, value))
            uf.union(f"L:{listing_id}", f"I:{kind}:{value}")
    texts = ((i, f"{d.get('title') or ''}\n{d.get('description') or ''}") for i, d in docs.items())
    for a, b in similar_text_pairs(texts):
        edges.append((a, "text", b))
        uf.union(f"L:{a}", f"L:{b}")
    members: dict[str, set[str]] = defaultdict(set)
    for listing_id, kind, value in edges:
        members[uf.find(f"L:{listing_id}")].add(listing_id)
        if kind == "text":
            members[uf.find(f"L:{value}")].add(value)
    by_root: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for edge in edges:
        by_root[uf.find(f"L:{edge[0]}")].append(edge)
    return [Cluster(sorted(ids), by_root[root]) for root, ids in members.items()]


def _min(values: Iterable[Any]) -> Any:
    present = [v for v in values if v]
    return min(present) if present else None


def _max(values: Iterable[Any]) -> Any:
    present = [v for v in values if v]
    return max(present) if present else None


def cluster_document(cluster: Cluster, docs: dict[str, dict[str, Any]], computed_at: datetime) -> dict[str, Any]:
    """What the sellers page shows: counts per site/platform, activity span, substances and a small graph."""
    members = [docs[i] for i in cluster.listing_ids]
    sites = Counter(d.get("site") or "?" for d in members)
    platforms = Counter(d.get("platform") or "?" for d in members)
    substances = Counter(s for d in members for s in (d.get("classification") or {}).get("substances") or [])
    idents = sorted({(k, v) for _i, k, v in cluster.edges if k != "text"})
    shared = Counter((k, v) for _i, k, v in cluster.edges if k != "text")
    graph_edges = cluster.edges[:MAX_GRAPH_EDGES]
    in_graph = {e[0] for e in graph_edges} | {e[2] for e in graph_edges if e[1] == "text"}
    return {
        "id": cluster.id,
        "size": len(cluster.listing_ids),
        "listing_ids": cluster.listing_ids,
        "identifiers": [{"kind": k, "value": v} for k, v in idents],
        "identifier_count": len(idents),
        "seller_names": sorted({n for d in members if (n := (d.get("seller") or {}).get("name"))})[:50],
        "sites": sorted(sites),
        "platforms": sorted(platforms),
        "substances": sorted(substances),
        "first_seen": _min(d.get("first_seen") for d in members),
        "last_seen": _max(d.get("last_seen") for d in members),
        "max_score": _max((d.get("classification") or {}).get("score") for d in members),
        "computed_at": computed_at.isoformat(),
        "counts": {
            "sites": dict(sites),
            "platforms": dict(platforms),
            "substances": dict(substances),
            "identifiers": [{"kind": k, "value": v, "listings": n} for (k, v), n in shared.most_common()],
        },
        "graph": {
            "listings": {i: (docs[i].get("title") or "")[:120] for i in sorted(in_graph)},
            "edges": [{"listing": a, "kind": k, "value": v} for a, k, v in graph_edges],
            "truncated": len(cluster.edges) > MAX_GRAPH_EDGES,
        },
    }


def _candidates(client: Elasticsearch, settings: Settings) -> Iterator[dict[str, Any]]:
    """Flagged or analyst-confirmed listings, read through a point in time (no 10k window)."""
    query = {
        "bool": {
            "should": [{"term": {"classification.flagged": True}}, {"term": {"triage.status": "confirmed"}}],
            "minimum_should_match": 1,
        }
    }
    yield from helpers.scan(
        client,
        index=listings_alias(settings),
        query={"query": query},
        source_includes=SOURCE_FIELDS,
        size=SCAN_PAGE,
        preserve_order=False,
    )


@dataclass
class SellersReport:
    listings: int
    clusters: int
    index: str


def recompute_sellers(client: Elasticsearch, settings: Settings, now: datetime | None = None) -> SellersReport:
    """Rebuild every cluster into a new index, move the alias to it and drop the previous one."""
    now = now or datetime.now(UTC)
    docs = {hit["_id"]: hit["_source"] for hit in _candidates(client, settings)}
    clusters = build_clusters(docs)
    alias = sellers_alias(settings)
    index = f"{alias}-{now:%Y%m%dt%H%M%S%f}"
    client.indices.create(index=index, mappings=MAPPING, settings={"number_of_shards": 1, "number_of_replicas": 0})
    actions = ({"_index": index, "_id": c.id, "_source": cluster_document(c, docs, now)} for c in clusters)
    helpers.bulk(client, actions, chunk_size=500, max_retries=3, refresh="wait_for")
    try:
        previous = list(client.indices.get_alias(name=alias).body)
    except NotFoundError:
        previous = []
    moves: list[dict[str, Any]] = [{"add": {"index": index, "alias": alias}}]
    moves += [{"remove": {"index": old, "alias": alias}} for old in previous]
    client.indices.update_aliases(actions=moves)
    if previous:
        client.indices.delete(index=previous)
    return SellersReport(listings=len(docs), clusters=len(clusters), index=index)


def _sellers_search(client: Elasticsearch, settings: Settings, **kwargs: Any) -> dict[str, Any] | None:
    try:
        return client.search(index=sellers_alias(settings), **kwargs).body
    except NotFoundError:
        return None  # no pipeline run has built the clusters yet


def list_sellers(client: Elasticsearch, settings: Settings, q: str = "", size: int = 50) -> tuple[int, list[dict]]:
    """Clusters, biggest and most recent first; `q` matches an identifier, seller name or listing id exactly."""
    query: dict[str, Any] = {"match_all": {}}
    if q.strip():
        value = q.strip()
        query = {
            "bool": {
                "should": [
                    {"term": {"identifiers.value": {"value": value.lower().lstrip("@"), "case_insensitive": True}}},
                    {"term": {"identifiers.value": value}},
                    {"term": {"seller_names": {"value": value, "case_insensitive": True}}},
                    {"term": {"listing_ids": value}},
                ],
                "minimum_should_match": 1,
            }
        }
    body = _sellers_search(
        client,
        settings,
        query=query,
        size=size,
        source_excludes=["graph", "listing_ids"],
        sort=[{"size": "desc"}, {"last_seen": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
    )
    if body is None:
        return 0, []
    return body["hits"]["total"]["value"], [h["_source"] for h in body["hits"]["hits"]]


def get_seller(client: Elasticsearch, settings: Settings, cluster_id: str) -> dict[str, Any] | None:
    body = _sellers_search(client, settings, query={"term": {"id": cluster_id}}, size=1)
    hits = (body or {}).get("hits", {}).get("hits", [])
    return hits[0]["_source"] if hits else None


def seller_of_listing(client: Elasticsearch, settings: Settings, listing_id: str) -> dict[str, Any] | None:
    body = _sellers_search(
        client, settings, query={"term": {"listing_ids": listing_id}}, size=1, source_excludes=["graph", "listing_ids"]
    )
    hits = (body or {}).get("hits", {}).get("hits", [])
    return hits[0]["_source"] if hits else None
