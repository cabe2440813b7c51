"""Counting what each saved search gained since it was last checked (run after each pipeline run)."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from elasticsearch import Elasticsearch

from core.settings import Settings
from core.store import session_scope
from core.store.saved import all_searches, record_check
from index_config.search import SearchError, SearchParams, count, parse_params

LIST_FIELDS = {
    name for name, f in SearchParams.model_fields.items() if getattr(f.annotation, "__origin__", None) is list
}


def params_from_query_string(query: str) -> SearchParams:
    """The saved URL query string back as search parameters (lists for the multi-value filters)."""
    data: dict[str, Any] = {}
    for key, values in parse_qs(query, keep_blank_values=False).items():
        data[key] = values if key in LIST_FIELDS else values[-1]
    return parse_params(data)


def refresh_saved_searches(
    client: Elasticsearch, settings: Settings, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Count matches first seen since each search's last check; one broken search never stops the others."""
    now = now or datetime.now(UTC)
    results = []
    with session_scope(settings) as db:
        for row in all_searches(db):
            try:
                params = params_from_query_string(row.query)
                since = (row.checked_at or row.created_at).isoformat()
                new = count(client, settings, params, [{"range": {"first_seen": {"gte": since}}}])
                total = count(client, settings, params)
            except SearchError as err:
                results.append({"user": row.user.name, "name": row.name, "error": str(err)})
                continue
            record_check(row, total, new, now)
            results.append({"user": row.user.name, "name": row.name, "new_matches": new, "total": total})
    return results
