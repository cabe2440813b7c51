"""The liaison's steps as library calls (the CLI and the web app call these): intake, export, sent.

Each step reads the store, the index and the registry, changes items only through
`cases.transition`, and mirrors what changed onto the listing documents.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.schema import Listing
from core.settings import Settings
from core.store.models import User
from core.store.takedowns import TakedownItem, TakedownPacket
from core.store.triage import confirmed_listing_ids, current_decisions, history
from index_config.triage import fetch_listings
from takedown import cases, custody, mirror
from takedown.gated import gate_evidence
from takedown.notice import Review
from takedown.packet import Packet, PacketOptions, build_packet
from takedown.platforms import Registry, load_registry
from takedown.rows import PacketListing
from takedown.signing import signing_key

MAX_PER_PACKET = 200


@dataclass
class IntakeReport:
    created: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # confirmed, but the index no longer holds the listing


def registry_for(settings: Settings) -> Registry:
    return load_registry(settings.takedown.platforms_file)


def intake(
    session: Session, client: Elasticsearch, settings: Settings, registry: Registry, at: datetime | None = None
) -> IntakeReport:
    """Open an item (status new) for every confirmed listing that has none yet; idempotent."""
    report = IntakeReport()
    have = set(session.scalars(select(TakedownItem.listing_id)))
    wanted = [lid for lid in confirmed_listing_ids(session) if lid not in have]
    if not wanted:
        return report
    decisions = current_decisions(session, wanted)
    docs = fetch_listings(client, settings, wanted)
    opened = []
    for listing_id in wanted:
        doc = docs.get(listing_id)
        if doc is None:
            report.missing.append(listing_id)
            continue
        decision = decisions[listing_id]
        # The analyst's triage note stays in triage: it is internal and must never reach a packet.
        item, created = cases.open_item(
            session, registry, {**doc, "id": listing_id}, actor=decision.by, note="confirmed by analyst", at=at
        )
        if created:
            opened.append(item)
            report.created.append(listing_id)
    mirror.sync(client, settings, opened)
    return report


def previous_removal(item: TakedownItem) -> str | None:
    """The sentence a packet carries when this listing relists one the platform already removed."""
    earlier = item.relist_of
    if earlier is None or earlier.removed_at is None:
        return None
    return (
        f"This seller's listing was removed on {earlier.removed_at:%Y-%m-%d} and is back: "
        f"{earlier.url} (removed) reappeared as this listing ({item.relist_reason or 'matched'})."
    )


def _entries(items: list[TakedownItem], docs: dict[str, dict[str, Any]]) -> list[PacketListing]:
    entries = []
    for item in items:
        doc = docs[item.listing_id]
        entries.append(
            PacketListing(
                item_id=item.id,
                listing=Listing.model_validate(doc),
                first_seen=_parse(doc.get("first_seen")),
                last_seen=_parse(doc.get("last_seen")),
                previous_removal=previous_removal(item),
            )
        )
    return entries


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def packet_options(settings: Settings) -> PacketOptions:
    return PacketOptions(
        chromium=settings.crawl.chromium_path,
        browser_args=list(settings.crawl.browser_args),
        signing_key=signing_key(settings),
        settings=settings,
        tsa_url=settings.takedown.tsa_url,
        tsa_timeout=settings.takedown.tsa_timeout,
        evidence_root=settings.var_dir,
        gate=gate_evidence(settings),
    )


def export(
    session: Session,
    client: Elasticsearch,
    settings: Settings,
    registry: Registry,
    platform_name: str,
    out_dir: Path | None,
    actor: str,
    at: datetime | None = None,
) -> tuple[list[Packet], list[str]]:
    """Write packets for a platform's new items (at most MAX_PER_PACKET each) and queue those items.

    Returns (packets, warnings). Items whose listing left the index are left as they are and named.
    """
    platform = registry.get(platform_name)
    intake(session, client, settings, registry, at)
    items = cases.items_for(session, platform.key, cases.EXPORTABLE)
    docs = fetch_listings(client, settings, [i.listing_id for i in items])
    warnings = [
        f"{i.listing_id}: listing is no longer in the index; not exported" for i in items if i.listing_id not in docs
    ]
    items = [i for i in items if i.listing_id in docs]
    roles = {u.name: u.role for u in session.scalars(select(User))}
    named = settings.takedown.name_reviewers
    decisions = {i.listing_id: history(session, i.listing_id) for i in items}
    reviews: dict[str, Review] = {}
    for i in items:
        review = custody.review_of(decisions[i.listing_id], roles, named)
        if review is None:
            warnings.append(f"{i.listing_id}: not confirmed by a person (a relisting needs its own review); left out")
        else:
            reviews[i.listing_id] = review
    items = [i for i in items if i.listing_id in reviews]
    if not items:
        raise ListingwatchError(
            f"Nothing to export for {platform.name}: no confirmed listings waiting (status new) on that platform."
        )
    when = (at or datetime.now(UTC)).astimezone(UTC)
    out = Path(out_dir or settings.takedown.packets_dir)
    options = packet_options(settings)
    packets: list[Packet] = []
    for start in range(0, len(items), MAX_PER_PACKET):
        batch = items[start : start + MAX_PER_PACKET]
        entries = _entries(batch, docs)
        trail = {
            e.listing.id: custody.events(e.listing, decisions[e.listing.id], item, roles, named, actor, when)
            for e, item in zip(entries, batch, strict=True)
        }
        packet = build_packet(entries, platform, out, options, when, reviews=reviews, custody=trail)
        warnings.extend(packet.warnings)
        session.add(
            TakedownPacket(
                id=packet.packet_id,
                platform=platform.key,
                created_at=when,
                created_by=actor,
                path=str(packet.path),
                zip_sha256=packet.zip_sha256,
                packet_sha256=packet.packet_sha256,
                timestamped=packet.timestamped,
                items=batch,
            )
        )
        for item in batch:
            cases.transition(session, item, "queued", actor, f"in packet {packet.packet_id}", when)
        packets.append(packet)
    session.flush()
    mirror.sync(client, settings, items)
    return packets, warnings


def mark_sent(
    session: Session,
    client: Elasticsearch,
    settings: Settings,
    packet_id: str,
    actor: str,
    at: datetime | None = None,
    ticket: str | None = None,
) -> list[cases.Change]:
    changes = cases.mark_sent(session, packet_id, actor, at, ticket)
    packet = session.get(TakedownPacket, packet_id)
    assert packet is not None
    mirror.sync(client, settings, packet.items)
    return changes
