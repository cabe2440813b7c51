"""The yearly figures a trusted flagger publishes (DSA Art. 22(3)): notices by provider, by kind of content, by action.

Counted over the items whose notice was sent in the period. The action is what was observed
first and told second: a removal a check saw; else a seller's own deletion; else the platform's
recorded answer ("removed" that no check has confirmed reads `removed_claimed`); else
`no_action_yet`.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from core.errors import ConfigError
from core.labels import SUBSTANCES
from takedown.accountability import ItemFacts, removal_estimate
from takedown.platforms import Registry

ACTIONS = ("removed", "restricted", "geo_blocked", "declined", "removed_claimed", "seller_deleted", "no_action_yet")
DIMENSIONS = ("platform", "substance", "quarter")


def action_of(f: ItemFacts) -> str:
    if f.platform_removed:
        return "removed"
    if f.removed_at is not None and f.removal_cause == "seller":
        return "seller_deleted"
    if f.decision == "removed":
        return "removed_claimed"
    if f.decision in ("restricted", "geo_blocked", "declined"):
        return f.decision
    return "no_action_yet"


def kind_of(f: ItemFacts) -> str:
    """The item's kind of content: its first substance class in label order (each notice counted once)."""
    return next((s for s in SUBSTANCES if s in f.substances), "unclassified")


def quarter_of(f: ItemFacts) -> str:
    assert f.reported_at is not None
    return f"Q{(f.reported_at.month - 1) // 3 + 1}"


@dataclass
class YearRow:
    platform: str
    group: str
    notices: int
    actions: dict[str, int]
    median_to_removal: str

    def flat(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "group": self.group,
            "notices": self.notices,
            **self.actions,
            "median_to_removal": self.median_to_removal,
        }


def parse_period(period: str) -> int:
    if not (period.isdigit() and len(period) == 4):
        raise ConfigError(f"--period must be a year such as 2026 (got {period!r}).")
    return int(period)


def yearly(facts: list[ItemFacts], registry: Registry, period: str, by: str, now: datetime) -> list[YearRow]:
    """Rows per platform (and per substance class or quarter when `by` says so), in registry order."""
    if by not in DIMENSIONS:
        raise ConfigError(f"--by must be one of {', '.join(DIMENSIONS)} (got {by!r}).")
    year = parse_period(period)
    sent = [f for f in facts if f.reported_at is not None and f.reported_at.year == year]
    group = {"platform": lambda f: "all", "substance": kind_of, "quarter": quarter_of}[by]
    buckets: dict[tuple[str, str], list[ItemFacts]] = defaultdict(list)
    for f in sent:
        buckets[(f.platform, group(f))].append(f)
    order = {p.key: i for i, p in enumerate(registry.platforms)}
    rows = []
    for (platform, key), mine in sorted(buckets.items(), key=lambda kv: (order.get(kv[0][0], 1 << 30), kv[0][1])):
        counts = Counter(action_of(f) for f in mine)
        rows.append(
            YearRow(
                platform, key, len(mine), {a: counts[a] for a in ACTIONS}, removal_estimate(mine, now).median_text()
            )
        )
    return rows


def as_json(rows: list[YearRow], period: str, by: str) -> dict[str, object]:
    totals = Counter()
    for r in rows:
        totals.update(r.actions)
    return {
        "basis": "Regulation (EU) 2022/2065 (Digital Services Act), Art. 22(3): trusted flagger yearly report",
        "period": period,
        "by": by,
        "notices": sum(r.notices for r in rows),
        "actions": {a: totals[a] for a in ACTIONS},
        "rows": [r.flat() for r in rows],
    }
