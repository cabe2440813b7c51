"""Aggregations for the overview charts: flagged listings over time, where they are, scores, new sellers."""

from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from core.settings import Settings
from index_config.manage import listings_alias
from index_config.queries import flagged_and
from index_config.sellers import sellers_alias


def _buckets(agg: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": b.get("key_as_string", b["key"]), "count": b["doc_count"]} for b in agg["buckets"]]


def overview(client: Elasticsearch, settings: Settings, days: int = 90) -> dict[str, Any]:
    """Chart data as plain lists: per day by substance, by platform and site, score histogram, sellers per week."""
    body = client.search(
        index=listings_alias(settings),
        size=0,
        query=flagged_and({"range": {"first_seen": {"gte": f"now-{days}d/d"}}}),
        aggs={
            "per_day": {
                "date_histogram": {"field": "first_seen", "calendar_interval": "day", "format": "yyyy-MM-dd"},
                "aggs": {"substance": {"terms": {"field": "classification.substances", "size": 10}}},
            },
            "platform": {"terms": {"field": "platform", "size": 15}},
            "site": {"terms": {"field": "site", "size": 15}},
        },
    ).body
    scores = client.search(
        index=listings_alias(settings),
        size=0,
        aggs={
            "score": {
                "histogram": {
                    "field": "classification.score",
                    "interval": 0.05,
                    "extended_bounds": {"min": 0, "max": 0.95},
                }
            }
        },
    ).body
    days_axis = [b["key_as_string"] for b in body["aggregations"]["per_day"]["buckets"]]
    substances: dict[str, list[int]] = {}
    for i, bucket in enumerate(body["aggregations"]["per_day"]["buckets"]):
        for sub in bucket["substance"]["buckets"]:
            substances.setdefault(sub["key"], [0] * len(days_axis))[i] = sub["doc_count"]
    try:
        sellers = client.search(
            index=sellers_alias(settings),
            size=0,
            aggs={
                "week": {"date_histogram": {"field": "first_seen", "calendar_interval": "week", "format": "yyyy-MM-dd"}}
            },
        ).body
        new_sellers = _buckets(sellers["aggregations"]["week"])
    except NotFoundError:
        new_sellers = []
    return {
        "flagged_total": body["hits"]["total"]["value"],
        "per_day": {"days": days_axis, "substances": substances},
        "platform": _buckets(body["aggregations"]["platform"]),
        "site": _buckets(body["aggregations"]["site"]),
        "score": [
            {"key": round(b["key"], 2), "count": b["doc_count"]} for b in scores["aggregations"]["score"]["buckets"]
        ],
        "new_sellers": new_sellers,
    }
