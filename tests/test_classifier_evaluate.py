"""The evaluation report: files exist and the numbers in them are sane."""

import json
from pathlib import Path

import pytest

from classifiers.evaluate import evaluate_model
from core.errors import ListingwatchError
from core.labels import SUBSTANCES

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


@pytest.fixture
def model_env(trained_model, monkeypatch):
    """The CLI's process-wide settings pointed at the session's trained model."""
    from core.settings import get_settings

    monkeypatch.setenv("LISTINGWATCH_MODEL__MODELS_DIR", str(trained_model.model_dir.parent))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_evaluate_scores_any_labelled_file_by_scope_and_source(trained_model, model_env, tmp_path) -> None:
    from typer.testing import CliRunner

    from listingwatch.cli import app

    sample = Path(__file__).parent / "files" / "real_sample.jsonl"
    got = CliRunner().invoke(app, ["model", "evaluate", "--data", str(sample)])
    assert got.exit_code == 0, got.output
    assert "recall synthetic" in got.output and "| agartha-2020 |" in got.output
    saved = json.loads((trained_model.model_dir / "evaluation" / "real_sample" / "metrics.json").read_text())
    assert set(saved["per_source"]) >= {"dnm-2017", "agartha-2020", "psychonautwiki", "wikipedia-drugs"}
    scopes = saved["scopes"]
    assert scopes["support"]["synthetic"] + scopes["support"]["other_drug"] + scopes["support"]["lookalike"] == 44
    assert saved["real"]["n"] == 44 and set(scopes["targets"]) == {
        "recall_synthetic", "recall_other_drug", "precision", "fpr_lookalike"
    }  # fmt: skip

    missing = CliRunner().invoke(app, ["model", "evaluate", "--data", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code != 0 and "does not exist" in (missing.output + str(missing.exception))
