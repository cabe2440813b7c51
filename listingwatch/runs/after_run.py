"""What follows a source run: its outcome recorded (alerts on failing sources, the adaptive schedule) and alerts sent.

Called by the DAG's last task and by `listingwatch run`; a failure here is logged, never
turned into a failed run, because the run's data is already indexed and `listingwatch alerts
run` delivers anything left waiting.
"""

import logging
from typing import Any

from core.settings import Settings
from crawlers.sources import SourceConfig
from listingwatch.runs.listings_io import iter_listings
from listingwatch.runs.paths import RunPaths, previous_run
from listingwatch.runs.summary import RunSummary
from monitor.outcomes import record_outcome

log = logging.getLogger(__name__)


def _flagged_ids(path: Any) -> set[str]:
    if not path.exists():
        return set()
    return {item.id for item in iter_listings(path) if item.classification and item.classification.flagged}


def new_flagged(settings: Settings, paths: RunPaths) -> int:
    """Flagged in this run and not in the previous run of the same source (what makes a source 'active')."""
    before = previous_run(settings, paths.source, paths.key)
    return len(_flagged_ids(paths.classified) - (_flagged_ids(before.classified) if before else set()))


def after_run(settings: Settings, paths: RunPaths, summary: RunSummary) -> dict[str, Any]:
    from monitor.alerts.run import run_after_pipeline

    fresh = new_flagged(settings, paths)
    try:
        record_outcome(
            settings,
            paths.source,
            paths.key,
            ok=True,
            listings=summary.listings,
            flagged=summary.flagged,
            new_flagged=fresh,
        )
    except Exception as err:  # the store is down: the alerts below would fail the same way; say so once
        log.warning("Could not record the outcome of run %s of %s (%s).", paths.key, paths.source, err)
        return {"new_flagged": fresh, "alerts": None}
    report = run_after_pipeline(settings)
    return {"new_flagged": fresh, "alerts": report.describe() if report else None}


def after_failure(settings: Settings, source: SourceConfig, run: str, error: str) -> None:
    """A run that failed for good: recorded (two in a row alert source_failed subscribers) and alerts sent."""
    from monitor.alerts.run import run_alerts

    try:
        record_outcome(settings, source.name, run, ok=False, error=error)
        run_alerts(settings, events=("source_failed",))
    except Exception as err:  # never hide the run's own failure behind the store's
        log.warning("Could not record the failure of run %s of %s (%s).", run, source.name, err)
