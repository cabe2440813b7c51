"""Relistings: a listing that appears after a removed one and is the same offer again.

Sellers whose listing is taken down often post it again, a word or two changed. A new flagged
listing is linked to a removed item when its text is a near-duplicate (MinHash over word
shingles, LSH at `takedown.relist_similarity`) or when it shares a contact handle, a crypto
address or a product photo with it. The link opens a takedown item for the new listing (status
new, so it goes into the next packet) whose packet says when the earlier one was removed.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from datasketch import MinHash, MinHashLSH
from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.takedowns import TakedownItem
from index_config.manage import listings_alias
from index_config.queries import flagged_and
from index_config.triage import fetch_listings
from takedown import cases, mirror
from takedown.platforms import Registry

NUM_PERM = 128
SHINGLE = 3
MAX_CANDIDATES = 10_000
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Relisting:
    listing_id: str
    url: str
    removed_item_id: int
    reasons: list[str]


def _minhash(text: str) -> MinHash:
    words = _WORD.findall(text.casefold())
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    mh = MinHash(num_perm=NUM_PERM, seed=1)
    for s in shingles:
        mh.update(s.encode("utf-8"))
    return mh


def _text(doc: dict[str, Any]) -> str:
    return "\n".join(str(doc.get(k) or "") for k in ("title", "description"))


def identifiers(doc: dict[str, Any]) -> set[str]:
    """Contact handles, crypto addresses and photos (URL or hash) as comparable keys."""
    keys: set[str] = set()
    for kind, values in (doc.get("contacts") or {}).items():
        keys.update(f"{kind}:{str(v).casefold()}" for v in values or [])
    keys.update(f"crypto:{c.get('address')}" for c in doc.get("crypto") or [] if c.get("address"))
    keys.update(f"photo:{u}" for u in doc.get("images") or [])
    for photo in doc.get("photos") or []:
        if isinstance(photo, dict):
            keys.update(f"photo:{photo[k]}" for k in ("sha256", "phash") if photo.get(k))
    return keys


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def match(
    removed: dict[int, dict[str, Any]],
    removed_at: dict[int, datetime],
    candidates: Iterable[dict[str, Any]],
    threshold: float,
) -> list[Relisting]:
    """Pure matching: each candidate first seen after a removal, linked to the best removed item it matches."""
    # LSH banding misses some pairs just above its threshold: query lower, then keep estimates >= threshold.
    lsh = MinHashLSH(threshold=max(0.2, threshold - 0.25), num_perm=NUM_PERM)
    hashes = {}
    for item_id, doc in removed.items():
        hashes[item_id] = _minhash(_text(doc))
        lsh.insert(str(item_id), hashes[item_id])
    ids_of = {item_id: identifiers(doc) for item_id, doc in removed.items()}
    removed_listing_ids = {doc["id"] for doc in removed.values()}
    out = []
    for doc in candidates:
        if doc["id"] in removed_listing_ids:
            continue
        first_seen = _parse(doc.get("first_seen"))
        mh = _minhash(_text(doc))
        scored: dict[int, list[str]] = {}
        for key in lsh.query(mh):
            item_id = int(key)
            similarity = hashes[item_id].jaccard(mh)
            if similarity >= threshold:
                scored.setdefault(item_id, []).append(f"text {similarity:.2f} similar")
        mine = identifiers(doc)
        for item_id, theirs in ids_of.items():
            shared = sorted(mine & theirs)
            if shared:
                scored.setdefault(item_id, []).append("shares " + ", ".join(shared[:5]))
        eligible = [i for i in scored if first_seen is None or first_seen > removed_at[i]]
        if eligible:
            best = max(eligible, key=lambda i: (len(scored[i]), removed_at[i]))
            out.append(Relisting(doc["id"], doc["url"], best, scored[best]))
    return out


def candidates(client: Elasticsearch, settings: Settings, since: datetime) -> list[dict[str, Any]]:
    """Flagged listings first seen after `since` (newest first, bounded)."""
    response = client.search(
        index=listings_alias(settings),
        query=flagged_and({"range": {"first_seen": {"gt": since.isoformat()}}}),
        sort=[{"first_seen": "desc"}],
        size=MAX_CANDIDATES,
    )
    return [{**h["_source"], "id": h["_id"]} for h in response["hits"]["hits"]]


def detect(
    session: Session, client: Elasticsearch, settings: Settings, registry: Registry, at: datetime | None = None
) -> list[Relisting]:
    """Link new relistings of removed items; opens an item for each (or links an existing one). Idempotent."""
    removed_items = list(session.scalars(select(TakedownItem).where(TakedownItem.removed_at.is_not(None))))
    if not removed_items:
        return []
    docs = fetch_listings(client, settings, [i.listing_id for i in removed_items])
    removed = {i.id: {**docs[i.listing_id], "id": i.listing_id} for i in removed_items if i.listing_id in docs}
    removed_at = {i.id: i.removed_at for i in removed_items if i.removed_at is not None}
    client.indices.refresh(index=listings_alias(settings))
    found = match(
        removed, removed_at, candidates(client, settings, min(removed_at.values())), settings.takedown.relist_similarity
    )
    linked = []
    touched = []
    for relisting in found:
        existing = session.scalar(select(TakedownItem).where(TakedownItem.listing_id == relisting.listing_id))
        if existing is not None and existing.relist_of_id is not None:
            continue
        earlier = session.get(TakedownItem, relisting.removed_item_id)
        assert earlier is not None
        reason = "; ".join(relisting.reasons)
        if existing is None:
            doc = fetch_listings(client, settings, [relisting.listing_id])[relisting.listing_id]
            existing, _ = cases.open_item(
                session,
                registry,
                {**doc, "id": relisting.listing_id},
                actor="system:relist",
                note=f"relisting of item {earlier.id} ({earlier.url}): {reason}",
                at=at,
            )
        existing.relist_of_id, existing.relist_reason = earlier.id, reason
        existing.relist_of = earlier
        touched.append(existing)
        linked.append(relisting)
    session.flush()
    mirror.sync(client, settings, touched)
    return linked
