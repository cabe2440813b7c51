"""What a packet says about one listing: a whitelist of fields, never the stored document as a whole.

The stored listing document also carries analysts' triage notes and other working data; a
packet goes to a third party, so every value it shows is picked here by name. A field not in
`platforms.FIELDS` cannot reach a packet.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.schema import Listing


@dataclass(frozen=True)
class Segment:
    """A run of listing text; `hit` runs are the words that made the classifier flag it."""

    text: str
    hit: bool = False


@dataclass
class PacketListing:
    """One listing as it goes into a packet (all text still raw: the renderers escape it)."""

    item_id: int
    listing: Listing
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    previous_removal: str | None = None
    evidence_files: list[str] = field(default_factory=list)
    warc_check: str | None = None


def utc_iso(value: datetime | None) -> str:
    """UTC, second precision, trailing Z: the one time format packets use."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def contact_handles(listing: Listing) -> list[str]:
    contacts = listing.contacts
    out: list[str] = []
    for kind in ("phone", "email", "telegram", "wickr", "whatsapp", "signal", "snapchat"):
        out.extend(f"{kind}: {value}" for value in getattr(contacts, kind))
    return out


def crypto_addresses(listing: Listing) -> list[str]:
    return [f"{c.currency}: {c.address}" for c in listing.crypto]


def price(listing: Listing) -> str:
    if listing.price is None:
        return listing.price_text or ""
    return f"{listing.price:.2f} {listing.currency or ''}".strip()


def reason(listing: Listing, details: bool = False) -> str:
    """Why it was flagged; the score, threshold and lexicon terms only for platforms that ask (`detection_details`)."""
    verdict = listing.classification
    if verdict is None:
        return "confirmed by a human reviewer"
    parts = [f"flagged by automated detection (model {verdict.model_version}), confirmed by a human reviewer"]
    if details:
        parts.append(f"classifier score {verdict.score:.3f} (threshold {verdict.threshold:.2f})")
    if verdict.substances:
        parts.append("substances: " + ", ".join(verdict.substances))
    terms = sorted({hit.term for hit in verdict.explanation.lexicon})
    if details and terms:
        parts.append("terms: " + ", ".join(terms[:20]))
    return "; ".join(parts)


def highlights(listing: Listing) -> dict[str, list[Segment]]:
    """Title and description cut into plain and hit segments from the lexicon's spans."""
    verdict = listing.classification
    out: dict[str, list[Segment]] = {}
    for name in ("title", "description"):
        text = getattr(listing, name) or ""
        spans = sorted(
            (h.start, h.end)
            for h in (verdict.explanation.lexicon if verdict else [])
            if h.field == name and 0 <= h.start < h.end <= len(text)
        )
        segments: list[Segment] = []
        cursor = 0
        for start, end in spans:
            if start < cursor:
                continue
            if start > cursor:
                segments.append(Segment(text[cursor:start]))
            segments.append(Segment(text[start:end], hit=True))
            cursor = end
        if cursor < len(text):
            segments.append(Segment(text[cursor:]))
        out[name] = segments
    return out


def field_values(entry: PacketListing, platform_name: str, details: bool = False) -> dict[str, Any]:
    """Every catalogue field for one listing, as JSON-ready values."""
    listing = entry.listing
    verdict = listing.classification
    return {
        "listing_id": listing.id,
        "url": listing.url,
        "platform": platform_name,
        "site": listing.site or "",
        "title": listing.title or "",
        "description": listing.description or "",
        "price": price(listing),
        "seller_name": listing.seller.name or "",
        "seller_profile_url": listing.seller.profile_url or "",
        "contact_handles": contact_handles(listing),
        "crypto_addresses": crypto_addresses(listing),
        "substances": list(verdict.substances) if verdict else [],
        "score": round(verdict.score, 4) if verdict else None,
        "reason": reason(listing, details),
        "captured_at": utc_iso(listing.evidence.captured_at or listing.fetched_at),
        "body_sha256": listing.evidence.body_sha256 or "",
        "screenshot_sha256": listing.evidence.screenshot_sha256 or "",
        "evidence_files": list(entry.evidence_files),
        "first_seen": utc_iso(entry.first_seen),
        "last_seen": utc_iso(entry.last_seen),
        "previous_removal": entry.previous_removal or "",
    }


def platform_row(entry: PacketListing, platform_name: str, fields: list[str], details: bool = False) -> dict[str, Any]:
    """Only the platform's required fields, in its order."""
    values = field_values(entry, platform_name, details)
    return {name: values[name] for name in fields}


def csv_cell(value: Any) -> str:
    """Lists joined with "; ", and formula-leading text defused so a spreadsheet never runs it."""
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text
