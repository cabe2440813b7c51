"""What makes a packet trustworthy and the figures fair, without services: signatures, notices, survival, answers."""

import json
import os
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.settings import load_settings
from core.store import session_scope
from core.store.users import add_user
from takedown import cases
from takedown.accountability import ItemFacts, compute, facts_from_store
from takedown.manifest import PUBLIC_KEY_FILE, SIGNATURE_FILE, build_manifest, verify_packet
from takedown.notice import Review, build_notice, load_grounds, quantities
from takedown.platforms import load_registry
from takedown.rows import PacketListing
from takedown.signing import PublicKey, fingerprint, key_path, signing_key, trusted_keys
from takedown.survival import Observation, estimate
from takedown.yearly import as_json, yearly
from tests.index_data import listing

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FILES = {"listings.csv": b"url\r\nhttps://market.example/item/1\r\n", "notice.json": b'{"listings": []}\n'}


def _packet(path: Path, key: Ed25519PrivateKey | None, files: dict[str, bytes] = FILES, extra=()) -> Path:
    manifest = build_manifest({"packet_id": "p1"}, files)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", manifest)
        if key is not None:
            archive.writestr(SIGNATURE_FILE, key.sign(manifest))
            archive.writestr(PUBLIC_KEY_FILE, PublicKey(key.public_key(), "test").pem)
        for name, data in extra:
            archive.writestr(name, data)
    return path


@pytest.fixture
def ours() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _trusted(key: Ed25519PrivateKey) -> list[PublicKey]:
    return [PublicKey(key.public_key(), "organisation")]


def test_a_signed_packet_is_intact_and_checks_with_stock_openssl(ours, tmp_path: Path) -> None:
    packet = _packet(tmp_path / "p.zip", ours)
    result = verify_packet(packet, _trusted(ours))
    assert result.intact and f"signature valid, key {fingerprint(ours.public_key())}" in result.notes[0]
    with zipfile.ZipFile(packet) as archive:
        archive.extractall(tmp_path / "x")
    x = tmp_path / "x"
    done = subprocess.run(
        [
            *("openssl", "pkeyutl", "-verify", "-pubin", "-rawin"),
            *("-inkey", x / PUBLIC_KEY_FILE, "-in", x / "manifest.json", "-sigfile", x / SIGNATURE_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout


def test_forged_and_rehashed_packet_fails(ours, tmp_path: Path) -> None:
    good = _packet(tmp_path / "good.zip", ours)
    with zipfile.ZipFile(good) as archive:
        signature = archive.read(SIGNATURE_FILE)
    forged_files = {**FILES, "listings.csv": b"url\r\nhttps://innocent.example/\r\n"}
    forged = tmp_path / "forged.zip"
    _packet(forged, None, forged_files, [(SIGNATURE_FILE, signature)])  # every hash recomputed, old signature
    result = verify_packet(forged, _trusted(ours))
    assert not result.intact and not result.altered
    assert any("does not match manifest.json under any trusted key" in p for p in result.problems)


def test_packet_resigned_with_another_key_fails(ours, tmp_path: Path) -> None:
    mallory = Ed25519PrivateKey.generate()
    packet = _packet(tmp_path / "m.zip", mallory, {**FILES, "listings.csv": b"url\r\nhttps://x.example/\r\n"})
    result = verify_packet(packet, _trusted(ours))
    assert not result.intact
    assert result.problems == [
        f"signed by an untrusted key {fingerprint(mallory.public_key())}: not the organisation's nor a listed one"
    ]


def test_missing_signature_fails(ours, tmp_path: Path) -> None:
    result = verify_packet(_packet(tmp_path / "u.zip", None), _trusted(ours))
    assert not result.intact and result.problems[0].startswith("not signed: manifest.sig is missing")


def test_duplicate_member_names_fail(ours, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        packet = _packet(tmp_path / "d.zip", ours, extra=[("listings.csv", b"url\r\nhttps://other.example/\r\n")])
    result = verify_packet(packet, _trusted(ours))
    assert not result.intact and result.problems == [
        "duplicate member name listings.csv: viewers may open a copy other than the one checked"
    ]


def test_key_made_on_first_use_with_mode_600_and_trusted(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    assert trusted_keys(settings) == [], "verifying never makes a key"
    key = signing_key(settings)
    assert os.stat(key_path(settings)).st_mode & 0o777 == 0o600
    assert signing_key(settings).public_key() == key.public_key(), "the key is reused, never replaced"
    assert [k.fingerprint for k in trusted_keys(settings)] == [fingerprint(key.public_key())]


def test_survival_median_matches_a_hand_computed_censored_case() -> None:
    # Removed at 2 h and 5 h; still live at 3 h and 10 h (censored).
    # S(2) = 3/4; at 5 h two remain at risk: S(5) = 3/4 * 1/2 = 3/8 <= 1/2 -> median 5 h (not 3.5 h).
    obs = [Observation(2, True), Observation(3, False), Observation(5, True), Observation(10, False)]
    got = estimate(obs)
    assert (got.median_hours, got.p90_hours, got.median_text()) == (5.0, None, "5.0 h")
    # The case: 2 of 4 removed at once would read 0.0 h; with one fewer removed, not reached.
    few = estimate([Observation(0, True), Observation(48, False), Observation(48, False), Observation(48, False)])
    assert few.median_hours is None and few.median_text() == "not reached (> 48.0 h)"


def test_seller_deletions_are_counted_apart_and_censored() -> None:
    registry = load_registry()
    now = T0 + timedelta(days=3)
    facts = [
        ItemFacts("local-classifieds", T0, T0 + timedelta(hours=1), False, None, removal_cause="seller"),
        ItemFacts("local-classifieds", T0, T0 + timedelta(hours=1), False, None, removal_cause="seller"),
        ItemFacts("local-classifieds", T0, T0 + timedelta(hours=4), False, None, removal_cause="platform"),
        ItemFacts("local-classifieds", T0, None, False, None, first_response_at=T0 + timedelta(hours=6)),
    ]
    row = compute(facts, registry, now)[0]
    assert (row.reported, row.removed, row.seller_deleted) == (4, 1, 2)
    # Censored at 1 h, 1 h, 72 h; the one removal at 4 h leaves S = 1/2 -> median 4 h.
    assert row.median_hours == 4.0 and row.within_promise == 1
    assert (row.answered, row.first_response_text) == (1, "not reached (> 72.0 h)")


def test_yearly_figures_by_platform_substance_and_quarter() -> None:
    registry = load_registry()
    facts = [
        ItemFacts("local-shop", T0, T0 + timedelta(hours=3), False, None, "platform", substances=("fentanyl",)),
        ItemFacts(
            "local-shop",
            T0 + timedelta(days=100),
            None,
            False,
            None,
            decision="declined",
            substances=("methamphetamine",),
        ),
        ItemFacts("local-shop", T0, None, False, None, decision="geo_blocked", substances=("fentanyl", "xylazine")),
        ItemFacts("local-forum", T0, T0 + timedelta(hours=1), False, None, "seller", substances=("nitazene",)),
        ItemFacts("local-forum", T0.replace(year=2025), None, False, None),
    ]
    now = datetime(2027, 1, 1, tzinfo=UTC)
    doc = as_json(yearly(facts, registry, "2026", "platform", now), "2026", "platform")
    assert doc["notices"] == 4
    assert doc["actions"] == {
        "removed": 1,
        "restricted": 0,
        "geo_blocked": 1,
        "declined": 1,
        "removed_claimed": 0,
        "seller_deleted": 1,
        "no_action_yet": 0,
    }
    by_kind = {(r.platform, r.group): r.notices for r in yearly(facts, registry, "2026", "substance", now)}
    assert by_kind == {
        ("local-shop", "fentanyl"): 2,
        ("local-shop", "methamphetamine"): 1,
        ("local-forum", "nitazene"): 1,
    }
    quarters = {(r.platform, r.group) for r in yearly(facts, registry, "2026", "quarter", now)}
    assert quarters == {("local-shop", "Q1"), ("local-shop", "Q2"), ("local-forum", "Q1")}


def test_notice_has_every_art16_field_and_keeps_internal_data_out(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    registry = load_registry()
    entries = [PacketListing(item_id=i, listing=listing(i)) for i in (1, 2)]
    for e in entries:
        e.listing.classification.substances = ["fentanyl", "counterfeit_pill"]
        e.listing.description = (e.listing.description or "") + " 100 pills, 5 g"
    reviews = {e.listing.id: Review("analyst", "ana", "2026-03-01T10:00:00Z") for e in entries}
    notice = build_notice(entries, reviews, registry.get("telegram"), settings, "p1", "2026-03-02T00:00:00Z")
    assert notice["submitter"].keys() == {"name", "organisation", "email"} and notice["good_faith_statement"]
    for n in notice["listings"]:
        assert n["url"].startswith("https://market.example/item/")
        assert n["human_reviewed"] is True and n["reviewer_role"] == "analyst" and "reviewer_name" not in n
        citations = {g["citation"] for g in n["legal_grounds"]}
        assert "21 U.S.C. § 843(c)(2)(A)" in citations and "21 U.S.C. § 841(a)(2)" in citations
        assert "Council Framework Decision 2004/757/JHA, art. 2(1)(a)" in citations
        assert n["policy_clause"]["url"] == "https://telegram.org/tos"
        assert "100 pills" in n["explanation"] and "telegram: @plug" in n["explanation"]
        assert "threshold" not in json.dumps(n) and "terms" not in n["detection"]
    named = settings.model_copy(update={"takedown": settings.takedown.model_copy(update={"name_reviewers": True})})
    shop = build_notice(entries, reviews, registry.get("local-shop"), named, "p1", "2026-03-02T00:00:00Z")
    assert shop["listings"][0]["reviewer_name"] == "ana"


def test_every_legal_ground_is_cited_and_linked() -> None:
    grounds = load_grounds()
    assert all(g.citation and g.url.startswith("https://") for g in grounds.grounds)
    assert grounds.for_classes(["xylazine"], ["INT", "US", "EU", "UK"]) == []
    assert quantities("100 pills, 100 Pills, 5 g of powder, 28g") == ["100 pills", "5 g", "28g"]


def test_responses_appeals_and_their_deadline(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    registry = load_registry()
    doc = {"id": "abc", "url": "https://t.me/plug/1", "platform": None, "classification": {"substances": ["fentanyl"]}}
    with session_scope(settings) as session:
        add_user(session, "lia", "liaison", "correct horse battery 2")
        item, _ = cases.open_item(session, registry, doc, "lia", at=T0)
        with pytest.raises(cases.CaseError, match="never reported"):
            cases.record_response(session, item, "declined", "lia", at=T0)
        for status in ("queued", "reported"):
            cases.transition(session, item, status, "lia", at=T0)
        with pytest.raises(cases.CaseError, match="nothing to appeal"):
            cases.file_appeal(session, item, "wrong", "lia", at=T0)
        with pytest.raises(cases.CaseError, match="needs --countries"):
            cases.record_response(session, item, "geo_blocked", "lia", at=T0)
        cases.record_response(session, item, "geo_blocked", "lia", "local law", ["de", "AT"], T0 + timedelta(hours=5))
        cases.record_response(session, item, "declined", "lia", "not illegal here", at=T0 + timedelta(days=1))
        assert item.status == "rejected"
        with pytest.raises(cases.CaseError, match="deadline for item 1 passed on 2026-09-02"):
            cases.file_appeal(session, item, "fentanyl is controlled", "lia", at=T0 + timedelta(days=200))
        appeal = cases.file_appeal(session, item, "fentanyl is controlled", "lia", at=T0 + timedelta(days=3))
        assert appeal.deadline == datetime(2026, 9, 2, tzinfo=UTC)
        notes = [e.note for e in item.audit]
        assert "platform answered: geo_blocked in AT, DE (local law)" in notes
        assert any(n and n.startswith("appeal filed against 'declined' (deadline 2026-09-02)") for n in notes)
        facts = facts_from_store(session)
    assert facts[0].first_response_at == T0 + timedelta(hours=5) and facts[0].decision == "declined"
    assert facts[0].substances == ("fentanyl",)


def test_crawl_run_digests_get_one_token_from_the_configured_tsa(tmp_path: Path) -> None:
    from takedown.capture_stamp import DIGESTS, stamp_run
    from takedown.timestamp import verify_token
    from tests.tsa_server import running_authority

    items = [listing(i, evidence={"warc_record_id": f"<urn:uuid:{i}>", "body_sha256": f"{i:064x}"}) for i in (2, 1)]
    settings = load_settings(var_dir=tmp_path)
    assert stamp_run(settings, tmp_path, items) is None, "no TSA configured: no token, nothing asked"
    (tmp_path / "tsa").mkdir()
    with running_authority(tmp_path / "tsa") as tsa:
        stamped = settings.model_copy(update={"takedown": settings.takedown.model_copy(update={"tsa_url": tsa.url})})
        token = stamp_run(stamped, tmp_path, items)
        data = (tmp_path / DIGESTS).read_bytes()
        assert data.decode().splitlines()[0].startswith("<urn:uuid:1> " + f"{1:064x}")
        assert verify_token(data, token.read_bytes(), tsa.ca_file)[0]
        assert not verify_token(data + b"x", token.read_bytes(), tsa.ca_file)[0]
