"""What the app needs recomputed after a pipeline run: seller clusters and saved-search counts."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from index_config.client import get_client
from index_config.saved_searches import refresh_saved_searches
from index_config.sellers import recompute_sellers
from listingwatch.settings import Settings


def refresh_analyst_views(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Rebuild the sellers index and count saved searches' new matches; returns both for the run summary."""
    now = now or datetime.now(UTC)
    client = get_client(settings)
    sellers = recompute_sellers(client, settings, now)
    return {"sellers": asdict(sellers), "saved_searches": refresh_saved_searches(client, settings, now)}
