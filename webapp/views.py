"""What the listing page and `GET /api/listings/{id}` show, assembled from the index and the store."""

from typing import Any

from elasticsearch import Elasticsearch

from core.digests import file_sha256
from core.settings import Settings
from core.store import session_scope
from core.store.triage import history
from crawlers.evidence_files import evidence_path, read_record
from index_config.listing_reads import get_listing, observations, related_listings
from index_config.sellers import seller_of_listing
from webapp.markup import Span, mark_spans
from webapp.photos import archived_flags

EXPLAINED_FIELDS = ("title", "description", "seller")


def explanation_spans(doc: dict[str, Any]) -> dict[str, list[Span]]:
    """Per field, the lexicon hits and the model's most influential tokens as character spans."""
    explanation = (doc.get("classification") or {}).get("explanation") or {}
    spans: dict[str, list[Span]] = {f: [] for f in EXPLAINED_FIELDS}
    for hit in explanation.get("lexicon") or []:
        if hit.get("field") in spans and isinstance(hit.get("start"), int) and isinstance(hit.get("end"), int):
            spans[hit["field"]].append(Span(hit["start"], hit["end"], "lex", f"lexicon: {hit.get('category')}"))
    for tok in explanation.get("tokens") or []:
        if tok.get("field") in spans and isinstance(tok.get("start"), int) and isinstance(tok.get("end"), int):
            weight = tok.get("weight") if isinstance(tok.get("weight"), int | float) else 0
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


def without_takedown_notes(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with the liaison audit notes taken out of its takedown history (below the liaison role)."""
    takedown = doc.get("takedown")
    if not isinstance(takedown, dict) or not isinstance(takedown.get("history"), list):
        return doc
    history_rows = [
        {k: v for k, v in e.items() if k != "note"} if isinstance(e, dict) else e for e in takedown["history"]
    ]
    return doc | {"takedown": takedown | {"history": history_rows}}


def listing_view(
    client: Elasticsearch, settings: Settings, listing_id: str, takedown_notes: bool = False
) -> dict[str, Any] | None:
    """Everything shown about one listing; liaison audit notes only with `takedown_notes` (liaison and up)."""
    doc = get_listing(client, settings, listing_id)
    if doc is None:
        return None
    if not takedown_notes:
        doc = without_takedown_notes(doc)
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
        "photos_archived": archived_flags(settings, doc),
    }


def highlighted_fields(doc: dict[str, Any]) -> dict[str, Any]:
    spans = explanation_spans(doc)
    return {name: mark_spans(text, spans[name]) for name, text in field_texts(doc).items()}
