"""Views the analysts' app reads that are recomputed after a pipeline run: seller clusters and saved-search counts."""

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from core.settings import Settings
from index_config.client import get_client
from index_config.manage import listings_alias
from index_config.saved_searches import refresh_saved_searches
from index_config.sellers import recompute_sellers

log = logging.getLogger(__name__)


def refresh_analyst_views(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Rebuild the sellers index and count saved searches' new matches; returns both for the run summary."""
    now = now or datetime.now(UTC)
    client = get_client(settings)
    client.indices.refresh(index=listings_alias(settings))  # the run's last writes must be searchable first
    sellers = recompute_sellers(client, settings, now)
    return {"sellers": asdict(sellers), "saved_searches": refresh_saved_searches(client, settings, now)}


def refresh_after_run(settings: Settings) -> dict[str, Any]:
    """`refresh_analyst_views` for the pipeline: a failure is logged and reported, never fails the run."""
    try:
        return refresh_analyst_views(settings)
    except Exception as err:  # the crawl's data is indexed already; the views can be rebuilt later
        log.warning("Could not refresh seller clusters and saved searches (%s); run `listingwatch app refresh`.", err)
        return {"error": f"{type(err).__name__}: {err}"[:300], "sellers": None, "saved_searches": []}
