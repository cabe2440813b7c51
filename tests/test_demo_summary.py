"""The demo's closing summary: every value readable on an 80-column terminal."""

from datetime import UTC, datetime

from rich.console import Console

from listingwatch.demo.run import SourceOutcome, summary_notes, summary_table
from listingwatch.runs.summary import RunSummary


def _outcomes() -> list[SourceOutcome]:
    summary = RunSummary(
        source="classifieds",
        run_key="k",
        finished_at=datetime.now(UTC),
        model_version="clf-x",
        pages_fetched=211,
        listings=200,
        new=200,
        changed=3,
        unchanged=0,
        gone=0,
        classified=200,
        flagged=77,
        flagged_by_substance={"counterfeit_pill": 20, "fentanyl": 30, "methamphetamine": 12, "precursor": 9},
        indexed=200,
        errors=0,
        error_samples=[],
        seconds={},
    )
    return [
        SourceOutcome("classifieds", True, 41.0, summary, "ok"),
        SourceOutcome("spa", False, 3.0, None, "failed: see var/logs/demo/spa.log"),
    ]


def test_summary_fits_80_columns_without_cutting_values() -> None:
    console = Console(width=80, record=True, color_system=None)
    console.print(summary_table(_outcomes()))
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for value in ("classifieds", "211", "200", "77", "41s", "ok", "failed"):
        assert value in text


def test_notes_carry_substances_and_failures() -> None:
    assert summary_notes(_outcomes()) == [
        "classifieds flagged by substance: counterfeit_pill 20, fentanyl 30, methamphetamine 12, precursor 9",
        "spa: failed: see var/logs/demo/spa.log",
    ]
