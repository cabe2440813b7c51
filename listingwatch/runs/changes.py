"""What changed since the previous run: the listings worth classifying and reporting.

A listing "changed" when anything an analyst or the classifier reads changed (text,
price, seller, contacts, crypto addresses); a new fetch of identical content is unchanged
even though its capture time and WARC offset differ.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.schema import Listing

_CONTENT_FIELDS = {
    "title",
    "description",
    "price",
    "currency",
    "seller",
    "contacts",
    "crypto",
    "shipping",
    "page_kind",
}


def fingerprint(listing: Listing) -> str:
    """SHA-256 of the fields whose change matters, stable across fetches of the same content."""
    payload = listing.model_dump_json(include=_CONTENT_FIELDS)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class ListingChanges:
    """Current listings split against the previous run, by listing id."""

    new: list[Listing] = field(default_factory=list)
    changed: list[Listing] = field(default_factory=list)
    unchanged: list[Listing] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)


def dedupe(listings: Iterable[Listing]) -> list[Listing]:
    """One record per listing id, keeping the last fetch (a resumed crawl may refetch a page)."""
    by_id: dict[str, Listing] = {}
    for listing in listings:
        by_id[listing.id] = listing
    return list(by_id.values())


def diff_listings(previous: Mapping[str, Listing], current: Iterable[Listing]) -> ListingChanges:
    """Split `current` into new/changed/unchanged against `previous` (id -> listing); ids not seen again are gone."""
    changes = ListingChanges()
    seen: set[str] = set()
    for listing in dedupe(current):
        seen.add(listing.id)
        before = previous.get(listing.id)
        if before is None:
            changes.new.append(listing)
        elif fingerprint(before) != fingerprint(listing):
            changes.changed.append(listing)
        else:
            changes.unchanged.append(listing)
    changes.gone = sorted(set(previous) - seen)
    return changes
