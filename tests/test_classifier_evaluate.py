"""The evaluation report: files exist and the numbers in them are sane."""

import json

import pytest

from classifiers.evaluate import evaluate_model
from classifiers.labels import SUBSTANCES
from listingwatch.errors import ListingwatchError

pytestmark = pytest.mark.slow


def test_report_files_and_values(trained_model) -> None:
    result = evaluate_model(trained_model.model_dir, trained_model.settings, split="test")
    out = trained_model.model_dir / "evaluation" / "test"
    for name in ("metrics.json", "report.md", "pr_curve.png", "reliability.png", "confusion.png"):
        assert (out / name).is_file(), name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["model_version"] == trained_model.version and saved["backend"] == "onnx-int8"
    o = result["overall"]
    for key in ("precision", "recall", "f1", "pr_auc"):
        assert 0.0 <= o[key] <= 1.0
    assert o["tp"] + o["fp"] + o["tn"] + o["fn"] == o["n"]
    assert o["pr_auc"] > 0.6  # far better than the ~0.5 a coin would score on this split
    assert 0.0 <= result["calibration"]["ece"] <= 1.0
    assert set(result["per_substance"]) == set(SUBSTANCES)
    assert set(result["per_language"]) == {"en", "es"}
    assert len(result["worst_errors"]) <= 20
    assert all(e["text"] for e in result["worst_errors"])
    assert result["headline"]["value"] == o["pr_auc"]
    report = (out / "report.md").read_text()
    assert "lexicon rule (baseline)" in report and "worst errors" in report


def test_unknown_split_is_a_clear_error(trained_model) -> None:
    with pytest.raises(ListingwatchError, match="Unknown split"):
        evaluate_model(trained_model.model_dir, trained_model.settings, split="holdout")
