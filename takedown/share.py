"""Confirmed sellers' indicators in the formats partner teams load: STIX 2.1 bundles and MISP events.

Only listings a person confirmed are shared. Each seller cluster (listings tied by shared
handles, wallets, photos or near-identical text: `index_config.sellers`) is one grouping: a
STIX `grouping` of its observables, or one MISP event. The organisation is the identity and
a TLP marking covers everything. Wallets and phone numbers have no STIX core object; they
follow OpenCTI's custom observables (`cryptocurrency-wallet`, `phone-number`), photo pHashes
are `x-listingwatch-phash`. MISP uses the object templates shipped with PyMISP (`url`,
`telegram-account`, `coin-address`), plain attributes for e-mail and phone, and MISP's
`dark-web` taxonomy tag `dark-web:topic="drugs-narcotics"`.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stix2
from pymisp import MISPEvent, MISPObject
from stix2.properties import StringProperty

from core.errors import ConfigError
from index_config.sellers import build_clusters, identifiers

TLPS = {"clear": stix2.TLP_WHITE, "green": stix2.TLP_GREEN, "amber": stix2.TLP_AMBER, "red": stix2.TLP_RED}
MISP_TAXONOMY = 'dark-web:topic="drugs-narcotics"'


@stix2.CustomObservable("cryptocurrency-wallet", [("value", StringProperty(required=True))], ["value"])
class CryptocurrencyWallet:
    """OpenCTI's wallet observable."""


@stix2.CustomObservable("phone-number", [("value", StringProperty(required=True))], ["value"])
class PhoneNumber:
    """OpenCTI's phone-number observable."""


@stix2.CustomObservable(
    "x-listingwatch-phash",
    [("value", StringProperty(required=True)), ("algorithm", StringProperty(required=True))],
    ["value"],
)
class PerceptualHash:
    """A listing photo's 64-bit perceptual hash (imagehash pHash), hex."""


@dataclass
class Group:
    """One seller cluster: its id, listing docs and the (kind, value) identifiers they share."""

    id: str
    docs: list[dict[str, Any]]
    identifiers: list[tuple[str, str]]


def groups(docs: dict[str, dict[str, Any]]) -> list[Group]:
    """Seller clusters over the confirmed listings; a listing tied to nothing is a group of its own."""
    out: list[Group] = []
    covered: set[str] = set()
    for cluster in build_clusters(docs):
        members = [docs[i] for i in cluster.listing_ids]
        idents = sorted({pair for d in members for pair in identifiers(d)})
        out.append(Group(cluster.id, members, idents))
        covered.update(cluster.listing_ids)
    for listing_id in sorted(set(docs) - covered):
        out.append(Group(f"listing-{listing_id[:16]}", [docs[listing_id]], identifiers(docs[listing_id])))
    return sorted(out, key=lambda g: g.id)


def _tlp(name: str) -> Any:
    if name not in TLPS:
        raise ConfigError(f"--tlp must be one of {', '.join(TLPS)} (got {name!r}).")
    return TLPS[name]


def _stix_observable(kind: str, value: str) -> Any:
    if kind == "email":
        return stix2.EmailAddress(value=value)
    if kind == "phone":
        return PhoneNumber(value=value)
    if kind == "crypto":
        return CryptocurrencyWallet(value=value)
    if kind == "phash":
        return PerceptualHash(value=value, algorithm="pHash")
    if kind == "profile":
        return stix2.URL(value=value)
    return stix2.UserAccount(user_id=value, account_login=value, account_type=kind)  # telegram, wickr, ...


def to_stix(found: list[Group], organisation: str, tlp: str, now: datetime | None = None) -> stix2.Bundle:
    marking = _tlp(tlp)
    now = now or datetime.now(UTC)
    identity = stix2.Identity(name=organisation, identity_class="organization", object_marking_refs=[marking])
    objects: list[Any] = [identity, marking]
    for group in found:
        observables = [stix2.URL(value=d["url"]) for d in group.docs]
        observables += [_stix_observable(kind, value) for kind, value in group.identifiers if kind != "text"]
        unique = list({o.id: o for o in observables}.values())
        objects += unique
        substances = sorted({s for d in group.docs for s in (d.get("classification") or {}).get("substances") or []})
        objects.append(
            stix2.Grouping(
                name=f"seller cluster {group.id}",
                description=f"{len(group.docs)} confirmed listing(s) offering {', '.join(substances) or 'drugs'}",
                context="suspicious-activity",
                object_refs=[o.id for o in unique],
                created_by_ref=identity.id,
                object_marking_refs=[marking],
                labels=["drugs-narcotics", *substances],
                created=now,
                modified=now,
                allow_custom=True,
            )
        )
    unique_objects = list({o.id: o for o in objects}.values())
    return stix2.Bundle(objects=unique_objects, allow_custom=True)


def _misp_event(group: Group, organisation: str, tlp: str, now: datetime) -> MISPEvent:
    event = MISPEvent()
    event.info = f"{organisation}: seller cluster {group.id} ({len(group.docs)} confirmed drug listing(s))"
    event.date = now.date()
    event.distribution = 0
    event.analysis = 2
    event.add_tag(f"tlp:{tlp}")
    event.add_tag(MISP_TAXONOMY)
    for d in group.docs:
        obj = MISPObject("url")
        obj.add_attribute("url", value=d["url"])
        event.add_object(obj)
    for kind, value in group.identifiers:
        if kind == "telegram":
            obj = MISPObject("telegram-account")
            obj.add_attribute("username", value=value)
            event.add_object(obj)
        elif kind == "crypto":
            obj = MISPObject("coin-address")
            obj.add_attribute("address", value=value)
            event.add_object(obj)
        elif kind == "email":
            event.add_attribute("email", value, comment="seller contact")
        elif kind == "phone":
            event.add_attribute("phone-number", value, comment="seller contact")
        elif kind == "profile":
            event.add_attribute("url", value, comment="seller profile")
        elif kind == "phash":
            event.add_attribute("text", value, comment="photo perceptual hash (pHash)")
        else:
            event.add_attribute("text", f"{kind}: {value}", comment="seller messaging handle")
    return event


def to_misp(found: list[Group], organisation: str, tlp: str, now: datetime | None = None) -> list[MISPEvent]:
    _tlp(tlp)
    now = now or datetime.now(UTC)
    return [_misp_event(g, organisation, tlp, now) for g in found]


def write(fmt: str, found: list[Group], organisation: str, tlp: str) -> str:
    """The export file's text: a STIX bundle, or MISP's `{"response": [{"Event": ...}, ...]}` list."""
    if fmt == "stix":
        return to_stix(found, organisation, tlp).serialize(pretty=True)
    if fmt == "misp":
        events = [json.loads(e.to_json()) for e in to_misp(found, organisation, tlp)]
        return json.dumps({"response": [{"Event": e} for e in events]}, indent=2)
    raise ConfigError(f"--format must be stix or misp (got {fmt!r}).")
