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

Not every shared identifier ties sellers. A stock photo, a platform's support e-mail or a template
paragraph turns up under hundreds of unrelated sellers, and one such hub would merge them all into one
"seller". So each identifier is weighed by how rare it is: by how many distinct sellers (profile URL, else
site + seller name, else the listing itself) use it. One used by more than `MAX_SELLERS[kind]` of them is
"common": it links nothing and is listed on the cluster apart from the identifiers that do link. Text
look-alikes are held to the same rule. Clusters are ranked by risk, not size: see `risk`.
"""

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from datasketch import MinHash, MinHashLSH
from elasticsearch import Elasticsearch, NotFoundError, helpers

from core.schema import CONTACT_KINDS
from core.settings import Settings
from index_config.manage import alias_name, listings_alias
from index_config.queries import FLAGGED

# An identifier used by more distinct sellers than this links nothing. Photos and text are the usual hubs
# (stock pictures, template paragraphs), so they are held tighter than a handle or wallet; a seller's own
# profile URL always links.
MAX_SELLERS: dict[str, int] = {"phash": 5, "text": 5, "email": 10, "profile": 1_000_000}
MAX_SELLERS_DEFAULT = 20
RECENCY_HALF_LIFE_DAYS = 30
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
    "classification.scope",
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
        "identifiers": {
            "properties": {
                "kind": {"type": "keyword"},
                "value": {"type": "keyword", "ignore_above": 512},
                "sellers": {"type": "integer"},
                "weight": {"type": "float"},
            }
        },
        "common_identifiers": {
            "properties": {"kind": {"type": "keyword"}, "value": {"type": "keyword", "ignore_above": 512}}
        },
        "synthetic_offers": {"type": "integer"},
        "risk": {"type": "float"},
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
    sellers: dict[tuple[str, str], int] = field(default_factory=dict)  # identifier -> distinct sellers using it
    common: list[tuple[str, str]] = field(default_factory=list)  # members' identifiers too widely shared to link

    @property
    def id(self) -> str:
        return hashlib.sha256(min(self.listing_ids).encode()).hexdigest()[:16]


def seller_key(listing_id: str, doc: dict[str, Any]) -> str:
    """Who posted a listing, as far as the page says: profile URL, else site + name, else nobody known."""
    seller = doc.get("seller") or {}
    if isinstance(profile := seller.get("profile_url"), str) and profile.strip():
        return "profile:" + profile.strip().lower().rstrip("/")
    if isinstance(name := seller.get("name"), str) and name.strip():
        return f"name:{doc.get('site') or ''}:{' '.join(name.lower().split())}"
    return "listing:" + listing_id


def max_sellers(kind: str) -> int:
    return MAX_SELLERS.get(kind, MAX_SELLERS_DEFAULT)


def build_clusters(docs: dict[str, dict[str, Any]]) -> list[Cluster]:
    """Connected components of listings joined through rare shared identifiers or near-identical text.

    A listing with no identifier and no look-alike is no cluster: there is nothing to tie it to.
    """
    keys = {listing_id: seller_key(listing_id, doc) for listing_id, doc in docs.items()}
    found = {listing_id: identifiers(doc) for listing_id, doc in docs.items()}
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    for listing_id, idents in found.items():
        for ident in idents:
            users[ident].add(keys[listing_id])
    sellers = {ident: len(who) for ident, who in users.items()}
    common = {ident for ident, n in sellers.items() if n > max_sellers(ident[0])}

    uf = _UnionFind()
    edges: list[tuple[str, str, str]] = []
    for listing_id, idents in found.items():
        for kind, value in idents:
            if (kind, value) not in common:
                edges.append((listing_id, kind, value))
                uf.union(f"L:{listing_id}", f"I:{kind}:{value}")
    texts = ((i, f"{d.get('title') or ''}\n{d.get('description') or ''}") for i, d in docs.items())
    pairs = similar_text_pairs(texts)
    alike: dict[str, set[str]] = defaultdict(set)  # listing -> sellers of its look-alikes, itself included
    for a, b in pairs:
        alike[a] |= {keys[a], keys[b]}
        alike[b] |= {keys[a], keys[b]}
    for a, b in pairs:
        if max(len(alike[a]), len(alike[b])) <= max_sellers("text"):  # a template shared far and wide ties nobody
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
    clusters = []
    for root, ids in members.items():
        idents = {(k, v) for _i, k, v in by_root[root] if k != "text"}
        shared_common = sorted({ident for i in ids for ident in found[i] if ident in common})
        clusters.append(Cluster(sorted(ids), by_root[root], {i: sellers[i] for i in idents}, shared_common))
    return clusters


def risk(max_score: float | None, synthetic_offers: int, last_seen: str | None, now: datetime) -> float:
    """How urgently a seller needs looking at: what they sell, how sure the model is, how lately they were seen.

    Synthetic-scope offers (fentanyl, nitazenes, pressed pills...) count double, and more of them count more
    (up to ten); the top score says how sure; activity halves in weight every `RECENCY_HALF_LIFE_DAYS`. The
    number of listings alone does not raise it: a big cluster of low-score posts is not the first to read.
    """
    scope = 1.0 + min(synthetic_offers, 10) / 10 if synthetic_offers else 0.5
    days = RECENCY_HALF_LIFE_DAYS * 10
    if last_seen:
        seen = datetime.fromisoformat(last_seen.replace("Z", "+00:00"))
        seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
        days = max(0.0, (now - seen).total_seconds() / 86_400)
    recency = math.pow(0.5, days / RECENCY_HALF_LIFE_DAYS)
    return round(scope * (max_score or 0.0) * (0.5 + 0.5 * recency), 6)


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
    synthetic = sum(1 for d in members if (d.get("classification") or {}).get("scope") == "synthetic")
    last_seen = _max(d.get("last_seen") for d in members)
    max_score = _max((d.get("classification") or {}).get("score") for d in members)
    graph_edges = cluster.edges[:MAX_GRAPH_EDGES]
    in_graph = {e[0] for e in graph_edges} | {e[2] for e in graph_edges if e[1] == "text"}
    return {
        "id": cluster.id,
        "size": len(cluster.listing_ids),
        "listing_ids": cluster.listing_ids,
        "identifiers": [
            {"kind": k, "value": v, "sellers": (n := cluster.sellers.get((k, v), 1)), "weight": round(1 / n, 4)}
            for k, v in idents
        ],
        "identifier_count": len(idents),
        "common_identifiers": [{"kind": k, "value": v} for k, v in cluster.common[:100]],
        "synthetic_offers": synthetic,
        "risk": risk(max_score, synthetic, last_seen, computed_at),
        "seller_names": sorted({n for d in members if (n := (d.get("seller") or {}).get("name"))})[:50],
        "sites": sorted(sites),
        "platforms": sorted(platforms),
        "substances": sorted(substances),
        "first_seen": _min(d.get("first_seen") for d in members),
        "last_seen": last_seen,
        "max_score": max_score,
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
            "should": [FLAGGED, {"term": {"triage.status": "confirmed"}}],
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
    """Clusters, highest risk first (see `risk`); `q` matches an identifier, seller name or listing id exactly."""
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
        sort=[
            {"risk": {"order": "desc", "missing": "_last"}},
            {"last_seen": {"order": "desc", "missing": "_last"}},
            {"id": "asc"},
        ],
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
