"""Kaplan–Meier estimates for "how long until the platform acted" when some items are still waiting.

A median over the removed items alone flatters: with 2 of 4 removed within the hour and 2 still
live after a week, it reads "under an hour". Items still live are censored at their age (we
know only that removal takes longer), items a seller deleted are censored at the deletion (the
platform never got the chance), and the median is "not reached" while the estimated share still
up stays above one half.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    hours: float  # time to the event, or to the last moment we know it had not happened
    event: bool  # True: the event (removal, first answer) happened at `hours`


@dataclass(frozen=True)
class Estimate:
    median_hours: float | None  # None: not reached
    p90_hours: float | None  # time by which an estimated 90% had the event; None: not reached
    followed_hours: float  # longest time any item was followed
    events: int
    censored: int

    def median_text(self) -> str:
        if self.events + self.censored == 0:
            return "-"
        if self.median_hours is None:
            return f"not reached (> {self.followed_hours:.1f} h)"
        return f"{self.median_hours:.1f} h"


def curve(observations: list[Observation]) -> list[tuple[float, float]]:
    """(time, estimated share without the event just after that time) at each event time."""
    ordered = sorted(observations, key=lambda o: (o.hours, not o.event))  # events before censoring at ties
    at_risk = len(ordered)
    survival = 1.0
    points: list[tuple[float, float]] = []
    i = 0
    while i < len(ordered):
        t = ordered[i].hours
        same = [o for o in ordered[i:] if o.hours == t]
        events = sum(1 for o in same if o.event)
        if events:
            survival *= 1 - events / at_risk
            points.append((t, survival))
        at_risk -= len(same)
        i += len(same)
    return points


def quantile(points: list[tuple[float, float]], share_done: float) -> float | None:
    """First time the estimated share with the event reaches `share_done` (S(t) <= 1 - share_done)."""
    for t, survival in points:
        if survival <= 1 - share_done + 1e-12:
            return t
    return None


def km_quantile(hours: list[float], ended: list[bool], share_done: float) -> float | None:
    """The Kaplan–Meier time by which `share_done` of the items had the event; None: not reached."""
    if not 0 < share_done < 1:
        raise ValueError("share_done must be between 0 and 1")
    if len(hours) != len(ended):
        raise ValueError("hours and ended must have the same length")
    return quantile(curve([Observation(h, e) for h, e in zip(hours, ended, strict=True)]), share_done)


def estimate(observations: list[Observation]) -> Estimate:
    points = curve(observations)
    return Estimate(
        median_hours=_round(quantile(points, 0.5)),
        p90_hours=_round(quantile(points, 0.9)),
        followed_hours=round(max((o.hours for o in observations), default=0.0), 2),
        events=sum(1 for o in observations if o.event),
        censored=sum(1 for o in observations if not o.event),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
