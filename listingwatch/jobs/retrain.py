"""Retrain on demand and promote only a model that scores at least as well as the active one.

Both models are evaluated now, on the same held-out split, rather than trusting a score
stored when the active model was trained: the evaluation data or code may have changed
since, and only a like-for-like comparison says whether promotion makes things worse.
"""

import logging
from pathlib import Path

from pydantic import BaseModel

from listingwatch.errors import ListingwatchError
from listingwatch.settings import Settings

log = logging.getLogger(__name__)


class PromotionDecision(BaseModel):
    candidate_dir: str
    candidate_version: str
    metric: str
    candidate_score: float
    active_version: str | None
    active_score: float | None
    promote: bool
    reason: str


def train_candidate(settings: Settings, *, quick: bool = False, seed: int = 0) -> Path:
    """Train and export a new model into the registry (not yet active) and return its directory."""
    from classifiers.release import train_and_release

    return train_and_release(settings, quick=quick, seed=seed, promote=False)


def _score(model_dir: Path, settings: Settings) -> tuple[str, float]:
    from classifiers.evaluate import comparison_score

    return comparison_score(model_dir, settings)


def decide_promotion(settings: Settings, candidate_dir: str | Path) -> PromotionDecision:
    """Compare candidate and active model on the real test split (else the test split) now; ties promote."""
    from classifiers.registry import active_model_dir

    candidate = Path(candidate_dir)
    metric, candidate_score = _score(candidate, settings)
    active = active_model_dir(settings)
    if active is None or active.resolve() == candidate.resolve():
        return PromotionDecision(
            candidate_dir=str(candidate),
            candidate_version=candidate.name,
            metric=metric,
            candidate_score=candidate_score,
            active_version=None,
            active_score=None,
            promote=True,
            reason=f"No active model; promoting {candidate.name} ({metric} {candidate_score:.4f}).",
        )
    _, active_score = _score(active, settings)
    promote = candidate_score >= active_score
    verdict = "promoting it" if promote else "refusing to promote it"
    return PromotionDecision(
        candidate_dir=str(candidate),
        candidate_version=candidate.name,
        metric=metric,
        candidate_score=candidate_score,
        active_version=active.name,
        active_score=active_score,
        promote=promote,
        reason=(
            f"Candidate {candidate.name} scores {metric} {candidate_score:.4f} against the active "
            f"{active.name}'s {active_score:.4f}; {verdict}."
        ),
    )


def promote_candidate(settings: Settings, decision: PromotionDecision) -> str:
    """Make the candidate the active model; refuses a decision that said not to."""
    from classifiers.registry import promote

    if not decision.promote:
        raise ListingwatchError(f"Not promoting {decision.candidate_version}: {decision.reason}")
    promote(settings, decision.candidate_version)
    log.info("Promoted model %s.", decision.candidate_version)
    return decision.candidate_version
