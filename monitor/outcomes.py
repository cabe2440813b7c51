"""Recording how each source run ended (the source_failed alert and the adaptive schedule read it)."""

from datetime import UTC, datetime

from sqlalchemy import select

from core.settings import Settings
from core.store import session_scope
from core.store.alerts import SourceRunOutcome


def record_outcome(
    settings: Settings,
    source: str,
    run_key: str,
    *,
    ok: bool,
    listings: int = 0,
    flagged: int = 0,
    new_flagged: int = 0,
    error: str | None = None,
) -> None:
    """One row per (source, run); a retried run overwrites its own row, so a run counts once."""
    with session_scope(settings) as db:
        row = db.scalar(
            select(SourceRunOutcome).where(SourceRunOutcome.source == source, SourceRunOutcome.run_key == run_key)
        )
        if row is None:
            row = SourceRunOutcome(source=source, run_key=run_key)
            db.add(row)
        row.finished_at = datetime.now(UTC)
        row.ok, row.listings, row.flagged, row.new_flagged = ok, listings, flagged, new_flagged
        row.error = error[:1000] if error else None
