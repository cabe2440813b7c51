"""One liaison round after the demo's DAGs, so a newcomer's Takedowns page shows figures and a packet to open.

A clearly named demo reviewer (`demo-reviewer`, recorded as such in triage and the audit log)
confirms a few synthetic-scope offers on each local platform; the demo liaison exports a signed
packet per platform and marks it sent a day and a half ago with a demo ticket; the local
platforms then act as platforms do: remove some, leave others up, one seller deletes their own
listing, one platform declines; the removal checks run. Safe to run twice: a platform that
already has takedown items is left alone.
"""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from elasticsearch import Elasticsearch
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.settings import Settings
from core.store import session_scope
from core.store.models import User
from core.store.triage import current_decisions, record_decision
from core.store.users import add_user, get_user
from index_config.manage import listings_alias
from index_config.queries import flagged_and
from index_config.triage import write_triage
from listingwatch.demo.marketplaces.takedowns import site_item
from takedown import cases
from takedown.removal import run_checks
from takedown.workflow import export, mark_sent, registry_for

REVIEWER = "demo-reviewer"
LIAISON = "demo-liaison"
NOTE = "demo round: confirmed by the demo reviewer account, not by a person"
PER_PLATFORM = 4
MODERATED = ("classifieds", "forum", "shop", "spa")  # local sites that take moderation actions


@dataclass
class RoundReport:
    confirmed: int = 0
    packets: list[str] = field(default_factory=list)
    removed: int = 0
    seller_deleted: int = 0
    declined: int = 0
    checked: int = 0
    warnings: list[str] = field(default_factory=list)


def _demo_user(session: Session, name: str, role: str) -> User:
    """The demo's own accounts, with random passwords nobody logs in with."""
    return get_user(session, name) or add_user(session, name, role, secrets.token_urlsafe(24))


def candidates(client: Elasticsearch, settings: Settings, platform: str, size: int) -> list[dict]:
    """The platform's highest-scoring flagged synthetic-scope offers on the moderated local sites."""
    response = client.search(
        index=listings_alias(settings),
        query=flagged_and({"term": {"classification.scope": "synthetic"}}, {"term": {"platform": platform}}),
        sort=[{"classification.score": "desc"}, {"url": "asc"}],
        size=size * 3,
    )
    docs = [{**h["_source"], "id": h["_id"]} for h in response["hits"]["hits"]]
    return [d for d in docs if (found := site_item(urlsplit(d["url"]).path)) and found[0] in MODERATED][:size]


def _moderate(sites_url: str, doc: dict, action: str) -> None:
    site, item_id = site_item(urlsplit(doc["url"]).path) or ("", 0)
    httpx.post(f"{sites_url}/admin/{site}/{item_id}/{action}", timeout=10).raise_for_status()


def _platform_acts(
    settings: Settings, sites_url: str, key: str, docs: list[dict], sent_at: datetime, report: RoundReport
) -> None:
    """The first two removed (and the removal answered), on classifieds the third deleted by its seller,
    on the shop the rest declined, elsewhere the rest left up."""
    with session_scope(settings) as session:
        for i, doc in enumerate(docs):
            item = cases.get_item(session, doc["id"])
            site = (site_item(urlsplit(doc["url"]).path) or ("", 0))[0]
            if i < 2:
                _moderate(sites_url, doc, "remove")
                answer = "illegal goods (demo platform)"
                cases.record_response(session, item, "removed", LIAISON, answer, None, sent_at + timedelta(hours=5))
                report.removed += 1
            elif i == 2 and site == "classifieds":
                _moderate(sites_url, doc, "delete")
                report.seller_deleted += 1
            elif key == "local-shop":
                answer = "not against our terms (demo)"
                cases.record_response(session, item, "declined", LIAISON, answer, None, sent_at + timedelta(hours=8))
                report.declined += 1


def play_round(settings: Settings, client: Elasticsearch, sites_url: str, now: datetime | None = None) -> RoundReport:
    """Confirm, export, send, let the local platforms act, check; returns what happened."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    sent_at = now - timedelta(hours=36)
    registry = registry_for(settings)
    report = RoundReport()
    by_platform: dict[str, list[dict]] = {}
    client.indices.refresh(index=listings_alias(settings))  # the DAGs' last writes become searchable
    with session_scope(settings) as session:
        reviewer = _demo_user(session, REVIEWER, "analyst")
        _demo_user(session, LIAISON, "liaison")
        for platform in registry.platforms:
            if not platform.key.startswith("local-"):
                continue
            if cases.items_for(session, platform.key):
                continue  # a round (or real work) already happened on this platform: leave it as it is
            docs = candidates(client, settings, platform.name, PER_PLATFORM)
            decided = current_decisions(session, [d["id"] for d in docs])
            fresh = [d for d in docs if d["id"] not in decided]
            for doc in fresh:
                decision = record_decision(
                    session, doc["id"], "confirmed", reviewer, NOTE, sent_at - timedelta(hours=2)
                )
                write_triage(client, settings, decision, refresh=False)
            if fresh:
                by_platform[platform.key] = fresh
                report.confirmed += len(fresh)
    client.indices.refresh(index=listings_alias(settings))
    for key, docs in by_platform.items():
        with session_scope(settings) as session:
            try:
                packets, warnings = export(session, client, settings, registry, key, None, LIAISON, sent_at)
            except ListingwatchError as err:
                report.warnings.append(f"{key}: {err}")
                continue
            report.warnings += warnings
            for n, packet in enumerate(packets, 1):
                mark_sent(session, client, settings, packet.packet_id, LIAISON, sent_at, f"DEMO-{key}-{n}")
                report.packets.append(str(packet.path))
        _platform_acts(settings, sites_url, key, docs, sent_at, report)
    with session_scope(settings) as session:
        report.checked = len(run_checks(session, client, settings, registry, now, force=True))
    return report
