"""Mirror analysts' triage decisions onto listing documents, and read listings back for export.

The relational store is the record of who decided what; the `triage` object on the listing
document (status, by, at) is a copy so that search can filter and facet on it. The loader
never sends `triage` in its partial updates, so a re-crawl keeps it.
"""

from collections.abc import Iterable
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from core.settings import Settings
from core.store.triage import Decision
from index_config.manage import listings_alias


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
