"""Chain of custody for each listing in a packet: who handled the evidence, when, with which tool.

Capture (crawler, time, hash, WARC record), classification (model version), every human
triage decision, the takedown steps before export, and the export itself. People appear by
role unless settings allow names (`takedown.name_reviewers`): a packet goes to a third party.
"""

from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from core.schema import Listing
from core.store.takedowns import TakedownItem
from core.store.triage import Decision
from takedown.notice import Review
from takedown.rows import utc_iso


def tool_version() -> str:
    try:
        return f"listingwatch {version('listingwatch')}"
    except PackageNotFoundError:
        return "listingwatch (version unknown)"


def who(name: str, roles: dict[str, str], named: bool) -> str:
    """A person as a packet shows them; system actors (`system:...`) keep their name."""
    if name.startswith("system:"):
        return name
    role = roles.get(name, "user")
    return f"{role} {name}" if named else role


def events(
    listing: Listing,
    decisions: list[Decision],
    item: TakedownItem,
    roles: dict[str, str],
    named: bool,
    exported_by: str,
    exported_at: datetime,
) -> list[dict[str, Any]]:
    """The listing's custody events, oldest first."""
    ev = listing.evidence
    tool = tool_version()
    out: list[dict[str, Any]] = [
        {
            "event": "capture",
            "at": utc_iso(ev.captured_at or listing.fetched_at),
            "by": f"crawler (source {listing.source}, {listing.render_mode})",
            "tool": tool,
            "sha256": ev.body_sha256,
            "warc_record_id": ev.warc_record_id,
        }
    ]
    if listing.classification is not None:
        out.append(
            {
                "event": "classification",
                "at": utc_iso(listing.fetched_at),
                "by": "classifier",
                "tool": tool,
                "model_version": listing.classification.model_version,
            }
        )
    for d in sorted(decisions, key=lambda d: d.at):
        out.append({"event": f"human decision: {d.decision}", "at": utc_iso(d.at), "by": who(d.by, roles, named)})
    for entry in item.audit:
        out.append(
            {
                "event": f"takedown: {entry.from_status or '-'} -> {entry.to_status}",
                "at": utc_iso(entry.at),
                "by": who(entry.actor, roles, named),
            }
        )
    out.append(
        {
            "event": "export",
            "at": utc_iso(exported_at),
            "by": who(exported_by, roles, named),
            "tool": tool,
            "model_version": listing.classification.model_version if listing.classification else None,
        }
    )
    return out


def review_of(decisions: list[Decision], roles: dict[str, str], named: bool) -> Review | None:
    """The latest decision when it confirms the listing; None when a person has not (or no longer) confirmed it."""
    if not decisions:
        return None
    latest = max(decisions, key=lambda d: d.at)
    if latest.decision != "confirmed":
        return None
    return Review(role=roles.get(latest.by, "user"), name=latest.by if named else "", at=utc_iso(latest.at))
