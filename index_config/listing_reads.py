"""What the index says about one listing: its document, its fetch history, listings sharing an identifier.

The listing page, the listing API and anything else showing one listing read through these.
"""

from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from core.schema import CONTACT_KINDS
from core.settings import Settings
from index_config.manage import listings_alias, observations_alias

MAX_OBSERVATIONS = 200
MAX_RELATED = 50
NAME_SEP = "\x1f"


def get_listing(client: Elasticsearch, settings: Settings, listing_id: str) -> dict[str, Any] | None:
    try:
        return client.get(index=listings_alias(settings), id=listing_id).body["_source"]
    except NotFoundError:
        return None


def observations(client: Elasticsearch, settings: Settings, listing_id: str) -> list[dict[str, Any]]:
    """Each fetch, newest first, with whether the content changed since the fetch before it."""
    hits = client.search(
        index=observations_alias(settings),
        query={"term": {"listing_id": listing_id}},
        sort=[{"fetched_at": "desc"}],
        size=MAX_OBSERVATIONS,
        source_includes=["fetched_at", "http_status", "content_sha256", "score", "model_version", "page_kind"],
    ).body["hits"]["hits"]
    rows = [h["_source"] for h in hits]
    for row, older in zip(rows, [*rows[1:], None][: len(rows)], strict=True):  # none fetched: no rows
        row["changed"] = None if older is None else row.get("content_sha256") != older.get("content_sha256")
    return rows


def identifier_terms(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, field, value) for each phone, handle, email and crypto address as stored on the document."""
    out = []
    contacts = doc.get("contacts") or {}
    for kind in CONTACT_KINDS:
        out += [(kind, f"contacts.{kind}", v) for v in contacts.get(kind) or [] if isinstance(v, str)]
    out += [("crypto", "crypto.address", c["address"]) for c in doc.get("crypto") or [] if c.get("address")]
    return out[:100]


def related_listings(client: Elasticsearch, settings: Settings, listing_id: str, doc: dict[str, Any]) -> list[dict]:
    """Other listings sharing a phone, handle, email or crypto address, with what they share."""
    terms = identifier_terms(doc)
    if not terms:
        return []
    should: list[dict[str, Any]] = []
    for label, f, value in terms:
        # Handles are written "@plug", "plug" and "@Plug" by the same seller: match all spellings.
        bare = value.lstrip("@") if label != "phone" else value
        variants = {value, bare, f"@{bare}"} if label not in ("phone", "crypto") else {value}
        for v in sorted(variants):  # names must be unique: the node reports one clause per name
            name = f"{label}: {value}{NAME_SEP}{len(should)}"
            should.append({"term": {f: {"value": v, "case_insensitive": True, "_name": name}}})
    hits = client.search(
        index=listings_alias(settings),
        query={"bool": {"should": should, "minimum_should_match": 1, "must_not": [{"ids": {"values": [listing_id]}}]}},
        size=MAX_RELATED,
        source_includes=["title", "site", "platform", "classification.score", "last_seen"],
    ).body["hits"]["hits"]
    return [
        {
            "id": h["_id"],
            "title": h["_source"].get("title"),
            "site": h["_source"].get("site"),
            "score": (h["_source"].get("classification") or {}).get("score"),
            "shared": sorted({name.split(NAME_SEP)[0] for name in h.get("matched_queries") or []}),
        }
        for h in hits
    ]
