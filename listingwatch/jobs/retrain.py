"""Retrain on demand; promote only a model that passes the release gate and scores as well as the active one.

Both models are evaluated now, on the same held-out split, rather than trusting a score
stored when the active model was trained: the evaluation data or code may have changed
since, and only a like-for-like comparison says whether promotion makes things worse.

The release gate (`classifiers.release.release_gate`: issue #20's targets on the held-out real
rows read bare and with context, the probes, and no measure more than 0.02 below the active
model's) must pass too; its report is written into the candidate's `evaluation/gate.json`.

Analysts' current triage labels (the rows `listingwatch triage export` writes) are gathered
first and join the candidate's train split as a stratum of their own; validation and test do
not change, so the comparison stays like for like.
"""

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.errors import ListingwatchError
from core.settings import Settings

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


FetchDocs = Callable[[Iterable[str]], dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class TriageLabels:
    path: Path
    rows: int  # labelled examples written
    skipped: int  # decisions that are no label (needs review) or whose listing the index no longer holds


def triage_labels_path(settings: Settings) -> Path:
    """Where the retrain job writes the analysts' labels it trains on."""
    return settings.model.models_dir / "triage-labels.jsonl"


def gather_triage_labels(settings: Settings, out: Path | None = None, fetch: FetchDocs | None = None) -> TriageLabels:
    """Write the current confirmed / false-positive decisions as labelled examples (atomically) to `out`.

    The store says who decided what; the listings index gives each listing's text (`fetch`,
    by default a multi-get on it). `listingwatch triage export` and the retrain job both use this.
    """
    from core.jsonl import write_lines
    from core.store import session_scope
    from core.store.triage import current_decisions, labelled_examples

    out = out or triage_labels_path(settings)
    with session_scope(settings) as session:
        decisions = list(current_decisions(session).values())
    if fetch is None:
        from index_config.client import get_client
        from index_config.triage import fetch_listings

        def fetch(ids: Iterable[str]) -> dict[str, dict[str, Any]]:
            return fetch_listings(get_client(settings), settings, ids)

    docs = fetch([d.listing_id for d in decisions]) if decisions else {}
    rows = labelled_examples(decisions, docs)
    write_lines(out, (json.dumps(r, ensure_ascii=False) for r in rows))
    return TriageLabels(out, len(rows), len(decisions) - len(rows))


def train_candidate(settings: Settings, *, quick: bool = False, seed: int = 0, triage: bool = True) -> Path:
    """Train and export a new model into the registry (not yet active) and return its directory.

    With `triage`, the analysts' current labels are gathered first and added to the train split.
    """
    from classifiers.release import train_and_release

    labels = gather_triage_labels(settings) if triage else None
    if labels is not None:
        log.info("Training with %d triage labels from %s (%d skipped).", labels.rows, labels.path, labels.skipped)
    path = labels.path if labels is not None and labels.rows else None
    return train_and_release(settings, quick=quick, seed=seed, triage=path, promote=False)


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
        from classifiers.release import refusal, release_gate

        gate = release_gate(settings, candidate)
        if gate.passed:
            reason = f"No active model; promoting {candidate.name} ({metric} {candidate_score:.4f})."
        else:
            reason = refusal(candidate, gate)
        return PromotionDecision(
            candidate_dir=str(candidate),
            candidate_version=candidate.name,
            metric=metric,
            candidate_score=candidate_score,
            active_version=None,
            active_score=None,
            promote=gate.passed,
            reason=reason,
        )
    _, active_score = _score(active, settings)
    promote = candidate_score >= active_score
    verdict = "promoting it" if promote else "refusing to promote it"
    if promote:
        from classifiers.release import refusal, release_gate

        gate = release_gate(settings, candidate)
        if not gate.passed:
            promote, verdict = False, f"refusing to promote it. {refusal(candidate, gate)}"
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
