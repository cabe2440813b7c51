"""The run summary: what one source's run did, in the log, as an Airflow asset event and on disk.

Engineers read it to tell a healthy run from a silent failure (zero pages, a spike in
"gone", a flagged count that fell to zero after a model change), so every number an
on-call person would ask for is here and nothing else.
"""

from datetime import datetime

from pydantic import BaseModel, Field


class RunSummary(BaseModel):
    source: str
    run_key: str
    finished_at: datetime
    model_version: str | None = None
    pages_fetched: int = 0
    pages_skipped: dict[str, int] = Field(default_factory=dict, description="By reason: too_large, timeout, ...")
    pages_lost: int = Field(default=0, description="Pages the crawl wanted and never fetched (login wall).")
    crawl_timed_out: bool = Field(default=False, description="The crawl was stopped by its time bound.")
    listings: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    gone: int = 0
    classified: int = Field(
        default=0, description="Listings whose verdict is new since the previous run (new or changed text, new model)."
    )
    flagged: int = 0
    flagged_by_substance: dict[str, int] = Field(default_factory=dict)
    indexed: int = 0
    quarantined: int = Field(default=0, description="Spooled records that could not be read back and were kept aside.")
    errors: int = 0
    error_samples: list[str] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict, description="Wall-clock time per step.")
    saved_searches: list[dict] = Field(
        default_factory=list, description="Analysts' saved searches and their new matches after this run."
    )

    @property
    def total_seconds(self) -> float:
        return round(sum(self.seconds.values()), 1)


def describe(summary: RunSummary) -> str:
    """One log paragraph a person can read in the Airflow task log."""
    substances = ", ".join(f"{k} {v}" for k, v in sorted(summary.flagged_by_substance.items())) or "none"
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(summary.pages_skipped.items())) or "none"
    lines = [
        f"Run summary for source {summary.source} (run {summary.run_key}, model {summary.model_version or 'none'}):",
        f"  pages fetched {summary.pages_fetched}; skipped: {skipped}"
        + (f"; LOST {summary.pages_lost} page(s) behind the login wall" if summary.pages_lost else "")
        + ("; the crawl was STOPPED BY ITS TIME BOUND" if summary.crawl_timed_out else ""),
        f"  listings {summary.listings} "
        f"(new {summary.new}, changed {summary.changed}, unchanged {summary.unchanged}, gone {summary.gone})",
        f"  classified {summary.classified}; flagged {summary.flagged} (by substance: {substances})",
        f"  indexed {summary.indexed}; errors {summary.errors}; time {summary.total_seconds}s",
    ]
    lines += [
        f"  saved search {s.get('user')}/{s.get('name')}: {s['new_matches']} new"
        for s in summary.saved_searches
        if "new_matches" in s
    ]
    if summary.quarantined:
        lines.append(
            f"  QUARANTINED {summary.quarantined} unreadable spooled record(s): see the spool's quarantine folder"
        )
    lines += [f"  error: {sample}" for sample in summary.error_samples]
    return "\n".join(lines)
