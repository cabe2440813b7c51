"""What the listing page and `GET /api/listings/{id}` show, assembled from the index and the store."""

from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from core.settings import Settings
from core.store import session_scope
from core.store.triage import history
from index_config.manage import listings_alias, observations_alias
from index_config.sellers import CONTACT_KINDS, seller_of_listing
from webapp.evidence import evidence_path, file_sha256, read_record
from webapp.markup import Span, mark_spans

MAX_OBSERVATIONS = 200
MAX_RELATED = 50
EXPLAINED_FIELDS = ("title", "description", "seller")
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
    for row, older in zip(rows, [*rows[1:], None], strict=True):
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


def explanation_spans(doc: dict[str, Any]) -> dict[str, list[Span]]:
    """Per field, the lexicon hits and the model's most influential tokens as character spans."""
    explanation = (doc.get("classification") or {}).get("explanation") or {}
    spans: dict[str, list[Span]] = {f: [] for f in EXPLAINED_FIELDS}
    for hit in explanation.get("lexicon") or []:
        if hit.get("field") in spans and isinstance(hit.get("start"), int) and isinstance(hit.get("end"), int):
            spans[hit["field"]].append(Span(hit["start"], hit["end"], "lex", f"lexicon: {hit.get('category')}"))
    for tok in explanation.get("tokens") or []:
        if tok.get("field") in spans and isinstance(tok.get("start"), int) and isinstance(tok.get("end"), int):
            weight = tok.get("weight") or 0
            spans[tok["field"]].append(Span(tok["start"], tok["end"], "tok", f"model weight {weight:+.3f}"))
    return spans


def field_texts(doc: dict[str, Any]) -> dict[str, str]:
    return {
        "title": doc.get("title") or "",
        "description": doc.get("description") or "",
        "seller": (doc.get("seller") or {}).get("name") or "",
    }


def evidence(settings: Settings, doc: dict[str, Any]) -> dict[str, Any]:
    """What the page says about the capture, including whether the files still match their hashes."""
    ev = doc.get("evidence") or {}
    screenshot = evidence_path(settings, ev.get("screenshot_path"), (".png", ".jpg", ".jpeg"))
    warc = evidence_path(settings, ev.get("warc_file"), (".warc", ".warc.gz"))
    record = None
    if warc is not None and isinstance(ev.get("warc_offset"), int):
        try:
            record = read_record(warc, ev["warc_offset"])
        except (OSError, ValueError):
            record = None
    return {
        "stored": ev,
        "screenshot": screenshot is not None,
        "screenshot_verified": screenshot is not None and file_sha256(screenshot) == ev.get("screenshot_sha256"),
        "warc": record is not None,
        "warc_target": record.target_uri if record else None,
        "warc_date": record.warc_date if record else None,
        "warc_payload_sha256": record.payload_sha256 if record else None,
        "warc_verified": record is not None and record.payload_sha256 == ev.get("body_sha256"),
    }


def listing_view(client: Elasticsearch, settings: Settings, listing_id: str) -> dict[str, Any] | None:
    doc = get_listing(client, settings, listing_id)
    if doc is None:
        return None
    with session_scope(settings) as db:
        decisions = history(db, listing_id)
    return {
        "id": listing_id,
        "doc": doc,
        "observations": observations(client, settings, listing_id),
        "related": related_listings(client, settings, listing_id, doc),
        "seller_cluster": seller_of_listing(client, settings, listing_id),
        "triage_history": [
            {"decision": d.decision, "note": d.note, "by": d.by, "at": d.at.isoformat()} for d in decisions
        ],
        "evidence": evidence(settings, doc),
    }


def highlighted_fields(doc: dict[str, Any]) -> dict[str, Any]:
    spans = explanation_spans(doc)
    return {name: mark_spans(text, spans[name]) for name, text in field_texts(doc).items()}
