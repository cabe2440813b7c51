"""Where one pipeline run of one source keeps its files, and which run came before it.

A run is keyed by its logical time (the scheduled slot, or when a manual run was
created), not by Airflow's run id: clearing a run, or `dag.test()` for the same logical
date, lands in the same directory and so re-uses the same crawl capture and rewrites the
same outputs instead of adding a second copy. Keys sort chronologically as strings, which
is what makes "the previous run" a plain directory listing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.settings import Settings

KEY_FORMAT = "%Y%m%dT%H%M%S%fZ"


def run_key(when: datetime) -> str:
    """A sortable directory name for the run whose logical time is `when`."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(KEY_FORMAT)


def source_dir(settings: Settings, source: str) -> Path:
    return settings.var_dir / "pipeline" / source


@dataclass(frozen=True)
class RunPaths:
    """The files of one run; each step writes its own and reads its predecessor's."""

    source: str
    key: str
    root: Path

    @property
    def jobdir(self) -> Path:
        """Scrapy's JOBDIR: a retried crawl task resumes instead of starting over."""
        return self.root / "jobdir"

    def crawl_attempt(self, attempt: int) -> Path:
        return self.root / f"crawl-attempt-{attempt}.jsonl"

    def crawl_attempt_report(self, attempt: int) -> Path:
        return self.root / f"crawl-attempt-{attempt}.json"

    @property
    def crawled(self) -> Path:
        return self.root / "crawled.jsonl"

    @property
    def crawl_report(self) -> Path:
        """Written last by a successful crawl: its presence means this run's capture is final."""
        return self.root / "crawl.json"

    @property
    def classified(self) -> Path:
        return self.root / "classified.jsonl"

    @property
    def classify_report(self) -> Path:
        return self.root / "classify.json"

    @property
    def index_report(self) -> Path:
        return self.root / "index.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"


def run_paths(settings: Settings, source: str, key: str) -> RunPaths:
    return RunPaths(source=source, key=key, root=source_dir(settings, source) / "runs" / key)


def previous_run(settings: Settings, source: str, key: str) -> RunPaths | None:
    """The latest earlier run whose classified output exists: the state new/changed/gone is measured against."""
    runs = source_dir(settings, source) / "runs"
    if not runs.is_dir():
        return None
    earlier = sorted(
        (p.name for p in runs.iterdir() if p.name < key and (p / "classified.jsonl").exists()),
        reverse=True,
    )
    return run_paths(settings, source, earlier[0]) if earlier else None


def latest_summary(settings: Settings, source: str) -> Path | None:
    """The newest run summary of a source, for the demo table and `listingwatch run` output."""
    runs = source_dir(settings, source) / "runs"
    if not runs.is_dir():
        return None
    done = sorted((p / "summary.json" for p in runs.iterdir() if (p / "summary.json").exists()), reverse=True)
    return done[0] if done else None
