"""Analysts' triage decisions: the one use-case that records them, and their mirror on listing documents.

The relational store is the record of who decided what; the `triage` object on the listing
document (status, by, at) is a copy so that search can filter and facet on it. The loader
never sends `triage` in its partial updates, so a re-crawl keeps it. `decide` is what the web
page, the API and `listingwatch triage` all call, so a decision means the same from each.
"""

from collections.abc import Iterable
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from core.errors import ListingwatchError
from core.settings import Settings
from core.store import session_scope
from core.store.triage import Decision, record_decision
from core.store.users import require_user
from index_config.manage import listings_alias


class ListingNotIndexed(ListingwatchError):
    """A decision about a listing id the index does not hold (a typo, or a listing never loaded)."""


def decide(
    client: Elasticsearch,
    settings: Settings,
    by: str,
    listing_ids: list[str],
    decision: str,
    note: str | None = None,
    refresh: bool = False,
) -> list[Decision]:
    """Record `decision` by user `by` on each listing (history kept) and copy it onto the documents.

    All or nothing: when any id is not in the index, nothing is recorded and the error names
    them; a bad decision or note raises `TriageError`, an unknown user `UserError`.
    """
    found = fetch_listings(client, settings, listing_ids)
    missing = [i for i in listing_ids if i not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise ListingNotIndexed(f"No listing with id {shown} in the index; nothing was recorded.")
    with session_scope(settings) as session:
        user = require_user(session, by)
        decisions = [record_decision(session, i, decision, user, note) for i in listing_ids]
    for made in decisions:
        write_triage(client, settings, made, refresh=refresh)
    return decisions


def write_triage(client: Elasticsearch, settings: Settings, decision: Decision, refresh: bool = False) -> bool:
    """Set the listing document's `triage` object; False when the index has no such listing."""
    try:
        client.update(
            index=listings_alias(settings),
            id=decision.listing_id,
            doc={"triage": decision.as_index_doc()},
            refresh="wait_for" if refresh else None,
            retry_on_conflict=3,
        )
    except NotFoundError:
        return False
    return True


def fetch_listings(client: Elasticsearch, settings: Settings, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """id -> stored listing document, for the ids the index holds."""
    wanted = list(ids)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        docs = client.mget(index=listings_alias(settings), ids=wanted[start : start + 500]).body["docs"]
        found.update({d["_id"]: d["_source"] for d in docs if d.get("found")})
    return found
