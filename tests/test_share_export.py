"""STIX 2.1 and MISP exports of confirmed sellers load back through the `stix2` and `pymisp` libraries."""

import json

import stix2
from pymisp import MISPEvent

from takedown.share import MISP_TAXONOMY, groups, write
from tests.index_data import listing


def _docs() -> dict[str, dict]:
    a = listing(1, contacts={"telegram": ["@plug1"], "email": ["plug@example.org"], "phone": ["+15550100"]})
    b = listing(2, contacts={"telegram": ["@plug1"]})  # same handle: same seller cluster as a
    c = listing(3, contacts={}, crypto=[], seller={"name": None}, title="lonely", description="nothing shared")
    return {x.id: {**x.model_dump(mode="json"), "id": x.id} for x in (a, b, c)}


def test_stix_bundle_round_trips_with_groupings_identity_and_tlp() -> None:
    docs = _docs()
    text = write("stix", groups(docs), "Example Org", "amber")
    bundle = stix2.parse(text, allow_custom=True)
    by_type: dict[str, list] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj["type"], []).append(obj)
    assert [i["name"] for i in by_type["identity"]] == ["Example Org"]
    assert len(by_type["grouping"]) == 2, "the two listings sharing @plug1 form one group; the third its own"
    biggest = max(by_type["grouping"], key=lambda g: len(g["object_refs"]))
    refs = {r.split("--")[0] for r in biggest["object_refs"]}
    assert {"url", "user-account", "email-addr", "phone-number", "cryptocurrency-wallet"} <= refs
    assert biggest["object_marking_refs"] == [stix2.TLP_AMBER.id]
    urls = {u["value"] for u in by_type["url"]}
    assert {d["url"] for d in docs.values()} <= urls
    assert {w["value"] for w in by_type["cryptocurrency-wallet"]} == {f"bc1q{i:038d}" for i in (1, 2)}


def test_misp_events_round_trip_with_objects_and_taxonomy() -> None:
    docs = _docs()
    payload = json.loads(write("misp", groups(docs), "Example Org", "amber"))
    events = []
    for wrapped in payload["response"]:
        event = MISPEvent()
        event.load(wrapped)
        events.append(event)
    assert len(events) == 2
    big = max(events, key=lambda e: len(e.objects))
    assert {t.name for t in big.tags} == {"tlp:amber", MISP_TAXONOMY}
    names = sorted(o.name for o in big.objects)
    assert names.count("url") == 2 and "telegram-account" in names and "coin-address" in names
    assert {a.type for a in big.attributes} >= {"email", "phone-number"}
    handles = [o.get_attributes_by_relation("username")[0].value for o in big.objects if o.name == "telegram-account"]
    assert handles == ["plug1"]
