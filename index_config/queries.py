"""Queries against the listings index, written once for every reader (re-check job, demo, stats, web app).

What "flagged" means in the index is decided here and nowhere else, so a change to it (say,
leaving out listings already taken down) reaches every reader at once. Functions take the
index or alias to read, so this module depends on nothing else in the index layer.
"""

from typing import Any

from elasticsearch import Elasticsearch

FLAGGED: dict[str, Any] = {"term": {"classification.flagged": True}}
HIGHEST_SCORE_FIRST: list[dict[str, str]] = [{"classification.score": "desc"}]
LEAST_RECENTLY_FETCHED_FIRST: list[dict[str, str]] = [{"fetched_at": "asc"}]


def flagged_and(*filters: dict[str, Any]) -> dict[str, Any]:
    """Flagged listings that also match every one of `filters` (term, range... clauses)."""
    return {"bool": {"filter": [FLAGGED, *filters]}}


def flagged_listings(
    client: Elasticsearch,
    index: str,
    *,
    sort: list[dict[str, str]],
    size: int,
    fields: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Stored documents of flagged listings in `sort` order (only `fields` of each when given)."""
    response = client.search(index=index, query=FLAGGED, sort=sort, size=size, source_includes=fields)
    return [hit["_source"] for hit in response["hits"]["hits"]]


def count_flagged(client: Elasticsearch, index: str) -> int:
    count: int = client.count(index=index, query=FLAGGED)["count"]
    return count
