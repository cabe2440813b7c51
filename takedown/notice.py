"""The notice a packet makes: what DSA Art. 16(2) asks of every notice, per confirmed listing.

Art. 16(2): (a) a substantiated explanation of why the content is illegal, (b) its exact
location, (c) the notifier's name and e-mail, (d) a statement of good faith. Platforms' forms
add the country and the law, and their own policy clause. The explanation is built from the
evidence (what is offered, quantities, prices, contact handles), the grounds from
`legal_grounds.yaml`; the reviewer appears by role unless settings allow the name. The
classifier's terms and threshold stay internal unless the platform's registry entry asks for
them (`detection_details: true`).
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigError
from core.labels import SUBSTANCES
from core.settings import Settings
from takedown.platforms import Platform
from takedown.rows import PacketListing, contact_handles, crypto_addresses, price, utc_iso

GROUNDS_FILE = Path(__file__).with_name("legal_grounds.yaml")
FORMAT = "listingwatch-notice/1"
BASIS = (
    "Regulation (EU) 2022/2065 (Digital Services Act), Art. 16; sent as a trusted flagger notice where Art. 22 applies"
)
SUBSTANCE_WORDS = {
    "fentanyl": "fentanyl or a fentanyl analogue",
    "nitazene": "a nitazene (benzimidazole) opioid",
    "counterfeit_pill": "counterfeit pressed pills sold as pharmaceutical tablets",
    "methamphetamine": "methamphetamine",
    "xylazine": "xylazine",
    "precursor": "fentanyl precursor chemicals",
    "other_drug": "another controlled drug",
}
_QUANTITY = re.compile(
    r"\b\d+(?:[.,]\d+)?\s?(?:x|pcs|pieces|pills?|tabs?|tablets?|g|gr|grams?|mg|mcg|kg|oz|ounces?|count|ct|units?)\b",
    re.IGNORECASE,
)
MAX_QUANTITIES = 6


class Ground(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    jurisdiction: str
    classes: list[str] = Field(min_length=1)
    law: str = Field(min_length=3)
    provision: str = Field(min_length=3)
    citation: str = Field(min_length=3)
    url: str = Field(pattern=r"^https://")


class GroundsRegistry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    jurisdictions: dict[str, str]
    grounds: list[Ground]

    def for_classes(self, classes: list[str], jurisdictions: list[str]) -> list[Ground]:
        wanted = set(classes)
        return [g for j in jurisdictions for g in self.grounds if g.jurisdiction == j and wanted & set(g.classes)]


@cache
def load_grounds(path: Path = GROUNDS_FILE) -> GroundsRegistry:
    try:
        registry = GroundsRegistry.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as err:
        raise ConfigError(f"Legal grounds registry {path} is invalid ({err}); see docs/liaison.md.") from None
    known = registry.jurisdictions
    problems = [f"unknown jurisdiction {g.jurisdiction}" for g in registry.grounds if g.jurisdiction not in known]
    problems += [f"unknown class {c}" for g in registry.grounds for c in g.classes if c not in SUBSTANCES]
    if problems:
        raise ConfigError(f"Legal grounds registry {path}: {'; '.join(sorted(set(problems)))}.")
    return registry


@dataclass(frozen=True)
class Review:
    """The human decision that let a listing into a packet."""

    role: str
    name: str
    at: str


def quantities(text: str) -> list[str]:
    found: list[str] = []
    for match in _QUANTITY.finditer(text):
        value = " ".join(match.group(0).split())
        if value.casefold() not in (f.casefold() for f in found):
            found.append(value)
    return found[:MAX_QUANTITIES]


def explanation(entry: PacketListing, review: Review) -> str:
    """Plain words a moderator can act on, from the evidence only."""
    listing = entry.listing
    verdict = listing.classification
    classes = list(verdict.substances) if verdict else []
    offered = ", ".join(SUBSTANCE_WORDS.get(c, c) for c in classes) or "a controlled drug"
    parts = [f"The listing offers {offered} for sale"]
    shown_price = price(listing)
    if shown_price:
        parts[0] += f" at {shown_price}"
    amounts = quantities(f"{listing.title or ''}\n{listing.description or ''}")
    if amounts:
        parts.append("quantities offered: " + ", ".join(amounts))
    handles = contact_handles(listing)
    if handles:
        parts.append("buyers are told to contact the seller via " + ", ".join(handles))
    wallets = crypto_addresses(listing)
    if wallets:
        parts.append("payment is asked to crypto addresses " + ", ".join(wallets))
    parts.append(
        f"a human reviewer ({review.role}) checked the captured page and confirmed the offer on {review.at[:10]}"
    )
    return "; ".join(parts) + "."


def listing_notice(
    entry: PacketListing, platform: Platform, review: Review, settings: Settings, grounds: GroundsRegistry
) -> dict[str, Any]:
    listing = entry.listing
    verdict = listing.classification
    classes = list(verdict.substances) if verdict else []
    detection: dict[str, Any] = {
        "method": "automated detection (text classifier and drug lexicon), then human review",
        "model_version": verdict.model_version if verdict else None,
    }
    if platform.detection_details and verdict is not None:
        detection |= {
            "score": round(verdict.score, 4),
            "threshold": verdict.threshold,
            "terms": sorted({hit.term for hit in verdict.explanation.lexicon}),
        }
    reviewed: dict[str, Any] = {"human_reviewed": True, "reviewer_role": review.role, "reviewed_at": review.at}
    if settings.takedown.name_reviewers:
        reviewed["reviewer_name"] = review.name
    return {
        "listing_id": listing.id,
        "url": listing.url,
        "substance_classes": classes,
        "legal_grounds": [
            {
                "jurisdiction": g.jurisdiction,
                "law": g.law,
                "provision": g.provision,
                "citation": g.citation,
                "url": g.url,
            }
            for g in grounds.for_classes(classes, settings.takedown.jurisdictions)
        ],
        "policy_clause": platform.policy_clause.model_dump() if platform.policy_clause else None,
        "explanation": explanation(entry, review),
        **reviewed,
        "detection": detection,
        "evidence": {
            "captured_at": utc_iso(listing.evidence.captured_at or listing.fetched_at),
            "body_sha256": listing.evidence.body_sha256 or "",
            "files": list(entry.evidence_files),
        },
    }


def build_notice(
    entries: list[PacketListing],
    reviews: dict[str, Review],
    platform: Platform,
    settings: Settings,
    packet_id: str,
    created_at: str,
) -> dict[str, Any]:
    grounds = load_grounds()
    submitter = settings.takedown.submitter
    return {
        "format": FORMAT,
        "basis": BASIS,
        "packet_id": packet_id,
        "created_at": created_at,
        "platform": platform.name,
        "submitter": {"name": submitter.name, "organisation": submitter.organisation, "email": submitter.email},
        "good_faith_statement": settings.takedown.good_faith_statement,
        "jurisdictions": {j: grounds.jurisdictions.get(j, j) for j in settings.takedown.jurisdictions},
        "listings": [listing_notice(e, platform, reviews[e.listing.id], settings, grounds) for e in entries],
    }
