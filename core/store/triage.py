"""Analysts' triage decisions: an append-only history per listing, the latest row being current."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.store.models import TRIAGE_DECISIONS, TriageDecision, User

MAX_NOTE = 4_000


class TriageError(ListingwatchError):
    """A decision that cannot be recorded."""


@dataclass(frozen=True)
class Decision:
    """A decision detached from the session, safe to hand to templates, the API and the index."""

    listing_id: str
    decision: str
    note: str | None
    by: str
    at: datetime

    @classmethod
    def of(cls, row: TriageDecision) -> "Decision":
        return cls(row.listing_id, row.decision, row.note, row.user.name, row.decided_at)

    def as_index_doc(self) -> dict[str, str]:
        """The `triage` object stored on the listing's Elasticsearch document."""
        return {"status": self.decision, "by": self.by, "at": self.at.isoformat()}


def record_decision(
    session: Session,
    listing_id: str,
    decision: str,
    user: User,
    note: str | None = None,
    at: datetime | None = None,
) -> Decision:
    """Append a decision; earlier ones stay in the history."""
    problems = []
    if decision not in TRIAGE_DECISIONS:
        problems.append(f"the decision must be one of {', '.join(TRIAGE_DECISIONS)} (got {decision!r})")
    if not listing_id or len(listing_id) > 64:
        problems.append("the listing id must be 1-64 characters")
    if note is not None and len(note) > MAX_NOTE:
        problems.append(f"the note must be at most {MAX_NOTE} characters")
    if problems:
        raise TriageError(f"Cannot record the decision: {'; '.join(problems)}.")
    row = TriageDecision(
        listing_id=listing_id, decision=decision, note=(note or None), user=user, decided_at=at or datetime.now(UTC)
    )
    session.add(row)
    session.flush()
    return Decision.of(row)


def history(session: Session, listing_id: str) -> list[Decision]:
    """Every decision on one listing, newest first."""
    rows = session.scalars(
        select(TriageDecision).where(TriageDecision.listing_id == listing_id).order_by(TriageDecision.id.desc())
    )
    return [Decision.of(r) for r in rows]


def current_decisions(session: Session, listing_ids: Iterable[str] | None = None) -> dict[str, Decision]:
    """listing id -> its latest decision (ids are monotonic, so the highest id per listing is the latest)."""
    latest = select(func.max(TriageDecision.id)).group_by(TriageDecision.listing_id)
    if listing_ids is not None:
        ids = list(listing_ids)
        if not ids:
            return {}
        latest = latest.where(TriageDecision.listing_id.in_(ids))
    rows = session.scalars(select(TriageDecision).where(TriageDecision.id.in_(latest)))
    return {r.listing_id: Decision.of(r) for r in rows}


def confirmed_listing_ids(session: Session) -> list[str]:
    """Listings whose current decision is `confirmed` (what takedown work starts from)."""
    return sorted(lid for lid, d in current_decisions(session).items() if d.decision == "confirmed")


LABELS = {"confirmed": 1, "false_positive": 0}


def labelled_examples(decisions: Iterable[Decision], docs: dict[str, dict]) -> list[dict]:
    """Current decisions as training examples in the hand-written corpus format.

    `needs_review` is no label, and a listing the index no longer holds has no text, so both are
    left out. A confirmed listing keeps the model's substances; a false positive has none.
    """
    out = []
    for d in decisions:
        doc = docs.get(d.listing_id)
        if d.decision not in LABELS or doc is None:
            continue
        verdict = doc.get("classification") or {}
        out.append(
            {
                "title": doc.get("title") or "",
                "description": doc.get("description") or "",
                "seller": (doc.get("seller") or {}).get("name") or "",
                "sale": LABELS[d.decision],
                "substances": sorted(verdict.get("substances") or []) if d.decision == "confirmed" else [],
                "lang": doc.get("language") or "und",
                "platform": doc.get("platform") or "",
                "price": doc.get("price"),
                "group": f"triage_{d.listing_id}",
                "listing_id": d.listing_id,
                "url": doc.get("url"),
                "decision": d.decision,
                "note": d.note,
                "by": d.by,
                "at": d.at.isoformat(),
                "model_version": verdict.get("model_version"),
            }
        )
    return out


def recent_decisions(session: Session, user: User, limit: int = 10) -> list[Decision]:
    """The user's latest decisions, newest first (the home page's "where was I")."""
    rows = session.scalars(
        select(TriageDecision).where(TriageDecision.user_id == user.id).order_by(TriageDecision.id.desc()).limit(limit)
    )
    return [Decision.of(r) for r in rows]
