"""Judge one re-fetch of a listing against what was indexed: live, changed, gone, blocked or unreachable.

The scheduled re-check of flagged listings and the takedown removal checks both ask this; it
lives beside the crawler because it answers with the crawler's own page-kind detection and
field extraction for the listing's source, so "the page no longer shows a listing" means the
same thing everywhere.
"""

from typing import Literal

from core.schema import Listing
from crawlers.extract.fields import extract_fields
from crawlers.extract.pagekind import detect_page_kind
from crawlers.sources import SourceConfig

GONE_STATUSES = frozenset({404, 410, 451})
Status = Literal["live", "changed", "gone", "blocked", "unreachable", "unknown_source", "not_checked"]


def _same(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def judge(listing: Listing, source: SourceConfig, status: int, url: str, html: str) -> tuple[Status, str | None]:
    """Classify one re-fetch against the indexed listing, using the crawler's own extraction."""
    if status in GONE_STATUSES:
        return "gone", f"HTTP {status}"
    if 300 <= status < 400:
        return "unreachable", f"HTTP {status} (too many redirects)"
    kind, reason = detect_page_kind(status, url, html)
    if kind in {"bot_challenge", "login_wall"}:
        return "blocked", reason
    if kind != "listing":
        return "unreachable", reason
    if source.uses_browser:
        return "live", "browser-rendered: status and page kind only"
    fields = extract_fields(html, url, source.fields)
    if not (fields.title or fields.description):
        return "gone", "page no longer shows a listing"
    price = fields.price.amount if fields.price else None
    if _same(fields.title, listing.title) and _same(fields.description, listing.description) and price == listing.price:
        return "live", None
    return "changed", None
