"""Crawl schedules that follow activity: a source that keeps yielding new flagged listings is crawled more often.

The rule, applied to a source's run history oldest first (so the interval is a function of
the record, with no state of its own to drift): start at `schedule_min`; a run that found new
flagged listings halves the interval, a successful run that found none doubles it, a failed
run leaves it; always within [`schedule_min`, `schedule_max`]. The DAG wakes every
`schedule_min` and its first task (`due`) decides whether this wake-up crawls.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.alerts import SourceRunOutcome
from crawlers.sources import SourceConfig, format_duration

HISTORY = 50  # runs read back; enough to walk from one bound to the other many times over


@dataclass(frozen=True)
class RunFacts:
    finished_at: datetime
    ok: bool
    new_flagged: int


@dataclass(frozen=True)
class Decision:
    interval: timedelta
    due: bool
    next_at: datetime | None
    reason: str

    def describe(self, source: str) -> str:
        when = self.next_at.isoformat(timespec="minutes") if self.next_at else "now"
        verdict = "crawl now" if self.due else f"skip; next crawl at {when}"
        return f"Adaptive schedule of {source}: interval {format_duration(self.interval)} ({self.reason}); {verdict}."


def interval_after(history: list[RunFacts], low: timedelta, high: timedelta) -> tuple[timedelta, str]:
    interval, reason = low, "no runs yet: starting at schedule_min"
    for run in history:
        if not run.ok:
            reason = "the last run failed: interval unchanged"
        elif run.new_flagged:
            interval, reason = max(low, interval / 2), f"the last run found {run.new_flagged} new flagged: halved"
        else:
            interval, reason = min(high, interval * 2), "the last run found no new flagged listings: doubled"
    return interval, reason


def decide(history: list[RunFacts], low: timedelta, high: timedelta, now: datetime) -> Decision:
    """Whether a wake-up at `now` crawls: the last run ended an interval ago, or failed (then it retries at once)."""
    interval, reason = interval_after(history, low, high)
    if not history or not history[-1].ok:
        return Decision(interval, True, None, reason)
    next_at = history[-1].finished_at + interval
    # A wake-up a little early (the crawl took some of the interval) still counts: within a tenth of schedule_min.
    due = now + low / 10 >= next_at
    return Decision(interval, due, None if due else next_at, reason)


def history_of(session: Session, source: str) -> list[RunFacts]:
    rows = session.scalars(
        select(SourceRunOutcome)
        .where(SourceRunOutcome.source == source)
        .order_by(SourceRunOutcome.finished_at.desc(), SourceRunOutcome.id.desc())
        .limit(HISTORY)
    )
    return [RunFacts(r.finished_at, r.ok, r.new_flagged) for r in reversed(list(rows))]


def schedule_text(session: Session, source: SourceConfig, now: datetime) -> str:
    """How the sources page and logs show a source's schedule: its cron, or the adaptive interval now and why."""
    if source.schedule_min is None or source.schedule_max is None:
        return source.schedule
    decision = decide(history_of(session, source.name), source.schedule_min, source.schedule_max, now)
    when = f"next crawl {decision.next_at.isoformat(timespec='minutes')}" if decision.next_at else "due now"
    return f"{source.schedule_summary}: every {format_duration(decision.interval)} ({decision.reason}); {when}"
