"""The release gate's rules (targets, probes, fallback against the model in service) and the docs it feeds."""

from pathlib import Path

import numpy as np
import pytest

from classifiers.corpus import Example
from classifiers.gate import MAX_FALLBACK, PROBE_MODES, PROBES, check, reading
from classifiers.modelcard import DOCS_BEGIN, DOCS_END, add_gate_section, docs_block, write_docs_block
from core.errors import ListingwatchError


def ex(sale: int, substances: list[str], origin: str) -> Example:
    return Example("t", "", "", sale, substances, "en", "market", origin, source="real", origin=origin)


def report(fpr_pharmacy: float, precision: float = 1.0, version: str = "clf-a") -> dict:
    def one() -> dict:
        return {
            "n": 1000,
            "precision": precision,
            "recall": 0.99,
            "recall_synthetic": 0.99,
            "recall_other_drug": 0.99,
            "fpr_lookalike": 0.01,
            "fpr_per_kind": {"netmeds-otc": {"fpr": fpr_pharmacy, "n": 200}, "tiny": {"fpr": 0.0, "n": 3}},
            "support": {"synthetic": 100, "other_drug": 300, "lookalike": 600},
            "substance_accuracy": {"fentanyl": {"accuracy": 1.0, "n": 40}},
            "synthetic_class": 0.95,
            "synthetic_class_n": 100,
        }

    probes = [{"text": p.text, "mode": m, "score": 0.0, "flagged": False, "substances": [], "right": True}
              for p in PROBES for m in PROBE_MODES]  # fmt: skip
    return {"model_version": version, "readings": {"bare": one(), "context": one()}, "probes": probes}


def test_a_model_meeting_every_target_passes() -> None:
    assert check(report(0.01)) == []


def test_each_missed_target_and_wrong_probe_is_named() -> None:
    bad = report(0.08, precision=0.90)
    bad["probes"][0].update(right=False, flagged=True, substances=["other_drug"], score=0.97)
    failures = check(bad)
    assert any("bare: precision 0.900 < 0.95" in f for f in failures)
    assert any("context: look-alike FPR on netmeds-otc 0.080 > 0.05" in f for f in failures)
    assert any("probe (bare)" in f and "other_drug" in f for f in failures)


def test_a_fallback_beyond_the_margin_against_the_model_in_service_is_refused() -> None:
    served = report(0.00, version="clf-served")
    assert check(report(MAX_FALLBACK - 0.005), served) == []
    failures = check(report(0.04), served)
    assert failures and all("clf-served in service" in f for f in failures)
    assert any("fpr[netmeds-otc]" in f for f in failures)


def test_small_measures_are_not_compared() -> None:
    served, cand = report(0.0, version="s"), report(0.0)
    cand["readings"]["bare"]["fpr_per_kind"]["tiny"]["fpr"] = 0.33  # one row of three
    served["readings"]["context"]["fpr_per_kind"]["tiny"]["fpr"] = 0.0
    assert not any("tiny" in f and "in service" in f for f in check(cand, served))


def test_reading_counts_precision_recall_fpr_per_source_and_named_classes() -> None:
    rows = [
        ex(1, ["fentanyl"], "m"),
        ex(1, ["fentanyl"], "m"),
        ex(1, ["other_drug"], "m"),
        ex(0, [], "pharmacy"),
        ex(0, [], "news"),
    ]
    flagged = np.array([True, True, False, True, False])
    named = [["fentanyl"], ["other_drug"], [], ["other_drug"], []]
    r = reading(rows, flagged, named)
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == pytest.approx(2 / 3)
    assert r["recall_synthetic"] == 1.0 and r["recall_other_drug"] == 0.0
    assert r["fpr_per_kind"] == {"news": {"fpr": 0.0, "n": 1}, "pharmacy": {"fpr": 1.0, "n": 1}}
    assert r["substance_accuracy"]["fentanyl"] == {"accuracy": 0.5, "n": 2}
    assert r["synthetic_class"] == 0.5 and r["synthetic_class_n"] == 2


def test_docs_quote_the_card_and_only_the_generated_block_changes(tmp_path: Path) -> None:
    model = tmp_path / "clf-x"
    model.mkdir()
    card = model / "MODEL_CARD.md"
    card.write_text(
        "# Model card\n\n## Substances\n\n| fentanyl | 0.91 |\n\n## Operating threshold\n\nThreshold **0.4**\n\n"
        "## Metrics\n\nnot quoted\n",
        encoding="utf-8",
    )
    add_gate_section(card, ["Verdict: **passed**."])
    add_gate_section(card, ["Verdict: **missed**."])  # replaced, not appended twice
    assert card.read_text(encoding="utf-8").count("## Release gate") == 1
    doc = tmp_path / "classifier.md"
    doc.write_text(f"intro\n{DOCS_BEGIN}\nold figures\n{DOCS_END}\noutro\n", encoding="utf-8")
    write_docs_block(doc, docs_block(model))
    text = doc.read_text(encoding="utf-8")
    assert "| fentanyl | 0.91 |" in text and "Threshold **0.4**" in text and "**missed**" in text
    assert "old figures" not in text and "not quoted" not in text
    assert text.startswith("intro\n") and text.endswith(f"{DOCS_END}\noutro\n") and "clf-x" in text
    doc.write_text("no block here\n", encoding="utf-8")
    with pytest.raises(ListingwatchError, match="no generated model-card block"):
        write_docs_block(doc, "x")
