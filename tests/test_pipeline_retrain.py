"""The retrain DAG's gate: a candidate that scores below the active model is never promoted."""

import json
import shutil
from pathlib import Path

import pytest

from classifiers.registry import promote, promoted_version
from core.errors import ListingwatchError
from core.settings import Settings, load_settings
from listingwatch.jobs.retrain import decide_promotion, promote_candidate
from tests.plugins.model import TrainedModel

pytestmark = pytest.mark.slow


@pytest.fixture
def registry(trained_model: TrainedModel, tmp_path: Path) -> tuple[Settings, Path]:
    """A models dir of its own holding the session's quick model, promoted.

    Without a real corpus, models are compared on their own test split: the quick model learns
    from the generated corpus only, and on real rows its network adds little to the lexicon, so a
    candidate with the network's evidence inverted would not score clearly worse there.
    """
    settings = load_settings(
        home=tmp_path, model={"models_dir": tmp_path / "models", "real_corpus": tmp_path / "no-real-corpus.jsonl"}
    )
    active = settings.model.models_dir / trained_model.version
    shutil.copytree(trained_model.model_dir, active)
    promote(settings, active.name)
    return settings, active


def _candidate(active: Path, name: str, flip_model_logit: bool) -> Path:
    """A copy of the active model; optionally one whose calibration inverts the network's evidence."""
    candidate = active.with_name(name)
    shutil.copytree(active, candidate)
    if flip_model_logit:
        path = candidate / "stacker.json"
        stacker = json.loads(path.read_text(encoding="utf-8"))
        head = stacker["heads"]["illicit_sale"]
        head["coef"][0] = -abs(head["coef"][0])
        path.write_text(json.dumps(stacker), encoding="utf-8")
    return candidate


def test_worse_candidate_is_refused_and_the_active_model_stays(registry: tuple[Settings, Path]) -> None:
    settings, active = registry
    worse = _candidate(active, "clf-20991231-000000-quick", flip_model_logit=True)

    decision = decide_promotion(settings, worse)

    assert not decision.promote and decision.active_version == active.name
    assert decision.candidate_score < decision.active_score  # type: ignore[operator]
    assert "refusing" in decision.reason
    with pytest.raises(ListingwatchError, match="Not promoting"):
        promote_candidate(settings, decision)
    assert promoted_version(settings) == active.name


def test_candidate_scoring_the_same_is_promoted(registry: tuple[Settings, Path]) -> None:
    settings, active = registry
    same = _candidate(active, "clf-20991231-000001-quick", flip_model_logit=False)

    decision = decide_promotion(settings, same)

    assert decision.promote and decision.candidate_score == decision.active_score
    assert promote_candidate(settings, decision) == same.name
    assert promoted_version(settings) == same.name


def test_models_are_compared_on_the_real_corpus_held_out_rows(registry: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, active = registry
    corpus = tmp_path / "real.jsonl"
    sample = Path(__file__).parent / "files" / "real_sample.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for i, line in enumerate(sample.read_text(encoding="utf-8").splitlines()):
            row = {**json.loads(line), "id": str(i), "group": str(i), "split": "test"}
            fh.write(json.dumps({**row, "origin": row["source"]}) + "\n")
    settings = load_settings(home=tmp_path, model={"models_dir": settings.model.models_dir, "real_corpus": corpus})
    worse = _candidate(active, "clf-20991231-000002-quick", flip_model_logit=True)

    decision = decide_promotion(settings, worse)

    assert decision.metric == "sale_pr_auc (real test)"
    assert not decision.promote and decision.candidate_score < decision.active_score  # type: ignore[operator]
    assert (worse / "evaluation" / "real-test" / "metrics.json").is_file()
