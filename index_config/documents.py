"""The two documents the index stores, defined once: a listing's current state and one fetch of it.

`StoredListing` and `Observation` are what the mappings in ``templates/`` index (a test
checks every field they store is mapped, since the mappings are ``dynamic: false`` and an
unmapped field would be silently unsearchable). The loader does not build them field by
field: it splices the listing's own pydantic JSON, which is what keeps bulk loading fast,
and the tests check that the bodies it sends validate as these models.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_core import to_json

from core.lexicon import fold_text
from core.schema import Evidence, Listing, PageKind, RenderMode, Takedown

# A new listing's takedown state; an update never sends one, so the analysts' state survives re-crawls.
NEW_TAKEDOWN = Takedown().model_dump_json(exclude_none=True)


class FoldedText(BaseModel):
    """The searchable text folded by `core.lexicon.fold_text` (accents, case, homoglyphs, zero-width,
    spaced letters, leetspeak): the integ-test node has no folding analyzers, so the index stores the
    project's own folding beside the original and the search folds the query the same way."""

    title: str | None = None
    description: str | None = None
    seller: str | None = None


def folded_text(title: str | None, description: str | None, seller: str | None) -> FoldedText:
    return FoldedText(
        title=fold_text(title) if title else None,
        description=fold_text(description) if description else None,
        seller=fold_text(seller) if seller else None,
    )


class StoredListing(Listing):
    """The listings index document (``_id`` = its id): the latest fetch plus what only the index knows."""

    stored_id: str = Field(alias="id", description="`Listing.id` of `url`, stored so it can be searched.")
    first_seen: datetime
    last_seen: datetime
    takedown: Takedown = Field(default_factory=Takedown)
    folded: FoldedText | None = Field(default=None, description="Made from the text when not given.")

    @model_validator(mode="after")
    def _fold(self) -> "StoredListing":
        if self.folded is None:
            self.folded = folded_text(self.title, self.description, self.seller.name)
        return self


class Observation(BaseModel):
    """The observations index document: one fetch of a listing, kept even after the listing changes."""

    listing_id: str
    url: str
    source: str
    platform: str
    site: str | None = None
    page_kind: PageKind
    render_mode: RenderMode
    fetched_at: datetime
    http_status: int | None = None
    content_sha256: str | None = None
    text_sha256: str | None = None
    score: float | None = None
    flagged: bool | None = None
    model_version: str | None = None
    evidence: Evidence


def observation_id(listing: Listing) -> str:
    """Stable per fetch: the same capture loaded twice maps to the same observation."""
    key = f"{listing.id}|{listing.fetched_at.isoformat()}|{listing.evidence.body_sha256 or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def listing_bodies(listing: Listing) -> tuple[str, str]:
    """(partial doc for an update, full `StoredListing` for a create), spliced from pydantic's JSON.

    The partial doc never holds first_seen or takedown, so an update leaves both alone; a
    listing without a classification leaves the stored one alone too. Both carry the folded
    text of this fetch, so the folded copy always follows the text it was made from.
    """
    exclude = {"classification"} if listing.classification is None else None
    base = listing.model_dump_json(exclude=exclude)
    seen = json.dumps(listing.fetched_at.isoformat())
    folded = folded_text(listing.title, listing.description, listing.seller.name)
    doc = f'{base[:-1]},"id":"{listing.id}","last_seen":{seen},"folded":{folded.model_dump_json()}}}'
    new = f'{doc[:-1]},"first_seen":{seen},"takedown":{NEW_TAKEDOWN}}}'
    return doc, new


def observation_body(listing: Listing) -> bytes:
    """The `Observation` of this fetch as JSON."""
    verdict = listing.classification
    return to_json(
        {
            "listing_id": listing.id,
            "url": listing.url,
            "source": listing.source,
            "platform": listing.platform,
            "site": listing.site,
            "page_kind": listing.page_kind,
            "render_mode": listing.render_mode,
            "fetched_at": listing.fetched_at,
            "http_status": listing.http_status,
            "content_sha256": listing.evidence.body_sha256,
            "text_sha256": verdict.text_sha256 if verdict else None,
            "score": verdict.score if verdict else None,
            "flagged": verdict.flagged if verdict else None,
            "model_version": verdict.model_version if verdict else None,
            "evidence": listing.evidence.model_dump(),
        }
    )


def refold(source: dict[str, Any]) -> dict[str, Any]:
    """A stored listing's `_source` with its folded text made again (`index migrate` runs it on every copy,
    so a change to the folding or to the mapping reaches documents indexed before it)."""
    seller = source.get("seller") or {}
    folded = folded_text(source.get("title"), source.get("description"), seller.get("name"))
    return source | {"folded": folded.model_dump()}
