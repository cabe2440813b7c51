"""Kaplan–Meier quantiles for times with items still waiting (censored), so a median is never of the finished ones only.

A small, tested estimator of its own: the takedown helper is writing one in `takedown/`, and
this module can be swapped for it once both are merged (the contract is the same: durations,
whether each ended, a quantile or None for "not reached").
"""

from collections.abc import Sequence


def km_quantile(durations: Sequence[float], ended: Sequence[bool], q: float) -> float | None:
    """The smallest time t with S(t) <= 1 - q, or None when the curve never gets that low ("not reached")."""
    if not 0 < q < 1:
        raise ValueError("q must be between 0 and 1")
    if len(durations) != len(ended):
        raise ValueError("durations and ended must have the same length")
    at_risk, survival = len(durations), 1.0
    # Ties: events before censorings at the same time (the usual convention).
    for t, event in sorted(zip(durations, ended, strict=True), key=lambda p: (p[0], not p[1])):
        if event:
            survival *= 1 - 1 / at_risk
            if survival <= 1 - q + 1e-12:
                return t
        at_risk -= 1
    return None
