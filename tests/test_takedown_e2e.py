"""Takedown end to end against the local sites, the real node, Chromium, OpenSSL and a local TSA.

Listings are crawled for real (WARC evidence and all); their classification is set from the
sites' ground truth rather than by the model, which has tests of its own, so this module
measures takedown work only. Analysts confirm through the store, as `triage confirm` does.
"""

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pypdfium2
import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from core.errors import ListingwatchError
from core.schema import Listing
from core.settings import Settings
from core.store import session_scope
from core.store.models import User
from core.store.takedowns import RemovalCheck, TakedownItem
from core.store.triage import record_decision
from core.store.users import add_user
from index_config.loader import load_listings
from index_config.manage import listings_alias, observations_alias
from index_config.triage import write_triage
from listingwatch.cli import app
from listingwatch.demo.marketplaces.sites import SitesServer, start_sites
from takedown import accountability, cases
from takedown.platforms import load_registry
from takedown.relist import detect
from takedown.removal import run_checks
from takedown.signing import PublicKey, signing_key
from takedown.workflow import export, mark_sent
from tests.index_data import fresh_prefix
from tests.plugins.sites import crawl_by_truth
from tests.tsa_server import Authority, make_authority, running_authority

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLASSIFIEDS = "Local Classifieds Inc."
SECRET_NOTE = "INTERNAL-TRIAGE-NOTE-do-not-send-7731"
XSS = '<script>alert("pwned")</script><img src=x onerror=alert(1)> '


@dataclass
class World:
    settings: Settings
    client: Elasticsearch
    sites: SitesServer
    tsa: Authority
    confirmed: list[Listing]
    shop: Listing
    packet: Path
    packet_id: str
    public_key: Path


def _post(sites: SitesServer, path: str) -> dict:
    response = httpx.post(f"{sites.url}{path}")
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def world(es_settings: Settings, es_client: Elasticsearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("takedown")
    with (
        start_sites() as sites,
        running_authority(tmp_path_factory.mktemp("tsa")) as tsa,
        fresh_prefix(es_settings, tmp / "var") as base,
        pytest.MonkeyPatch.context() as mp,
    ):
        # Removal checks load the source by name and fetch only its origins: point the demo sources at these sites.
        mp.setenv("LISTINGWATCH_SITES_URL", sites.url)
        settings = base.model_copy(
            update={"takedown": base.takedown.model_copy(update={"tsa_url": tsa.url, "packets_dir": tmp / "packets"})}
        )
        classifieds = crawl_by_truth(sites, settings, "classifieds", "/classifieds/", tmp)
        shop = crawl_by_truth(sites, settings, "shop", "/shop/", tmp)
        flagged = [i for i in classifieds if i.classification and i.classification.flagged]
        assert len(flagged) >= 4, "the first classifieds page should hold several illicit listings"
        flagged[0].title = XSS + (flagged[0].title or "")
        report = load_listings([*classifieds, *shop], settings, es_client)
        assert report.failed == 0
        confirmed = flagged[:3]
        shop_item = next(i for i in shop if i.classification and i.classification.flagged)
        with session_scope(settings) as session:
            analyst = add_user(session, "ana", "analyst", "correct horse battery 1")
            add_user(session, "lia", "liaison", "correct horse battery 2")
            for item in [*confirmed, shop_item]:
                decision = record_decision(session, item.id, "confirmed", analyst, note=SECRET_NOTE)
                write_triage(es_client, settings, decision, refresh=True)
        registry = load_registry(settings.takedown.platforms_file)
        with session_scope(settings) as session:
            packets, warnings = export(session, es_client, settings, registry, CLASSIFIEDS, None, "lia")
        assert warnings == [] and len(packets) == 1
        public_key = tmp / "org-public.pem"
        public_key.write_bytes(PublicKey(signing_key(settings).public_key(), "org").pem)
        yield World(
            settings, es_client, sites, tsa, confirmed, shop_item, packets[0].path, packets[0].packet_id, public_key
        )


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_packet_holds_the_platforms_listings_in_its_field_order(world: World) -> None:
    files = _members(world.packet)
    fields = load_registry(world.settings.takedown.platforms_file).get(CLASSIFIEDS).required_fields
    rows = json.loads(files["listings.json"])
    assert rows["fields"] == fields and [list(r) for r in rows["listings"]] == [fields] * 3
    assert {r["listing_id"] for r in rows["listings"]} == {i.id for i in world.confirmed}
    header = files["listings.csv"].decode("utf-8-sig").splitlines()[0]
    assert header.split(",") == fields
    for item in world.confirmed:
        warc = files[f"evidence/{item.id}/capture.warc.gz"]
        from warcio.archiveiterator import ArchiveIterator

        records = list(ArchiveIterator(io.BytesIO(warc)))
        assert [r.rec_type for r in records] == ["request", "response"]
        assert records[1].rec_headers.get_header("WARC-Target-URI") == item.url
    manifest = json.loads(files["manifest.json"])
    assert {f["path"] for f in manifest["files"]} == set(files) - {
        "manifest.json",
        "manifest.tsr",
        "manifest.sig",
        "signer.pub.pem",
    }
    with session_scope(world.settings) as session:
        statuses = {i.listing_id: i.status for i in cases.items_for(session)}
    assert statuses == {**{i.id: "queued" for i in world.confirmed}, world.shop.id: "new"}


def test_packet_never_leaks_triage_notes_or_other_platforms(world: World) -> None:
    blob = b"".join(_members(world.packet).values())
    with zipfile.ZipFile(world.packet) as archive:
        pdf_text = "".join(
            page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(archive.read("report.pdf"))
        )
    assert SECRET_NOTE.encode() not in blob and SECRET_NOTE not in pdf_text
    visible = blob
    for word in (b"banana", b"analyst", b"analog", b"explanation"):
        visible = visible.replace(word, b"")
    assert b"ana" not in visible  # the analyst's name stays internal too (their role is shown)
    for leak in (world.shop.id, world.shop.url, world.shop.title or "<no title>"):
        assert leak.encode() not in blob, leak
    xss = XSS.encode()
    html = _members(world.packet)["report.html"]
    assert xss not in html and b"<script" not in html and b"<img src=x" not in html
    assert b"&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html


def test_pdf_page_is_not_blank(world: World) -> None:
    pdf = pypdfium2.PdfDocument(_members(world.packet)["report.pdf"])
    image = pdf[0].render(scale=1).to_pil().convert("L")
    dark = sum(image.histogram()[:128])
    assert len(pdf) >= 1 and dark > 0.005 * image.width * image.height


def test_notice_for_every_listing_and_custody_log(world: World) -> None:
    files = _members(world.packet)
    notice = json.loads(files["notice.json"])
    assert notice["submitter"]["email"] and notice["good_faith_statement"]
    assert {n["url"] for n in notice["listings"]} == {i.url for i in world.confirmed}
    for n in notice["listings"]:
        cited = {"fentanyl", "nitazene", "methamphetamine", "counterfeit_pill", "precursor"}
        assert bool(n["legal_grounds"]) == bool(cited & set(n["substance_classes"]))
        assert all(g["citation"] and g["url"].startswith("https://") for g in n["legal_grounds"])
        assert n["policy_clause"]["title"] and n["explanation"].startswith("The listing offers")
        assert (n["human_reviewed"], n["reviewer_role"]) == (True, "analyst")
    custody = json.loads(files["custody.json"])["listings"]
    for item in world.confirmed:
        kinds = [e["event"] for e in custody[item.id]]
        assert kinds[0] == "capture" and "human decision: confirmed" in kinds and kinds[-1] == "export"
    html = files["report.html"].decode()
    assert html.index("Notice of illegal content") < html.index('<section class="listing">')
    assert "21 U.S.C. § 843(c)(2)(A)" in html


def _verify(path: Path, *extra: str, key: Path | None = None) -> tuple[int, str]:
    keys = ["--key", str(key)] if key else []
    result = CliRunner().invoke(app, ["takedown", "verify", str(path), *keys, *extra])
    return result.exit_code, result.output


def _rewrite(src: Path, dest: Path, change: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dest, "w") as new:
        for info in old.infolist():
            data = change.get(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info, data)
        for name, data in change.items():
            if name not in old.namelist() and data is not None:
                new.writestr(name, data)
    return dest


def test_verify_names_each_altered_missing_or_added_file(world: World, tmp_path: Path) -> None:
    code, out = _verify(world.packet, "--tsa-ca", str(world.tsa.ca_file), key=world.public_key)
    assert code == 0 and "intact" in out and "timestamp token verified" in out and "signature valid" in out
    code, out = _verify(world.packet, "--tsa-ca", str(world.tsa.ca_file))
    assert code == 1 and "signed by an untrusted key" in out, "a recipient without our key cannot call it intact"
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    code, out = _verify(world.packet, "--tsa-ca", str(make_authority(stranger)), key=world.public_key)
    assert code == 1 and "does not chain to the TSA CA" in out, "a token from another TSA is refused"
    files = _members(world.packet)
    victim = next(name for name in files if name.endswith("capture.warc.gz"))
    flipped = bytearray(files[victim])
    flipped[len(flipped) // 2] ^= 0x01
    altered = _rewrite(world.packet, tmp_path / "altered.zip", {victim: bytes(flipped)})
    code, out = _verify(altered, "--tsa-ca", str(world.tsa.ca_file), key=world.public_key)
    assert code == 1 and out.splitlines()[0] == f"altered: {victim}" and "missing:" not in out
    damaged = _rewrite(world.packet, tmp_path / "damaged.zip", {"listings.csv": None, "extra.txt": b"hi"})
    code, out = _verify(damaged)
    assert code == 1 and "missing: listings.csv" in out and "added: extra.txt" in out
    forged = json.loads(files["manifest.json"])
    forged["files"][0]["sha256"] = "0" * 64
    forged_zip = _rewrite(world.packet, tmp_path / "forged.zip", {"manifest.json": json.dumps(forged).encode()})
    code, out = _verify(forged_zip, "--tsa-ca", str(world.tsa.ca_file), key=world.public_key)
    assert code == 1 and "timestamp token does not match" in out and "under any trusted key" in out


def test_removal_reinstatement_relisting_and_accountability(world: World) -> None:
    s, client, sites = world.settings, world.client, world.sites
    registry = load_registry(s.takedown.platforms_file)
    reported_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    site_id = {item.id: item.url.rsplit("/", 1)[1] for item in world.confirmed}
    a, b, c = world.confirmed
    with session_scope(s) as session:
        assert len(mark_sent(session, client, s, world.packet_id, "lia", reported_at)) == 3

    def check(hours: float) -> dict[str, str]:
        with session_scope(s) as session:
            outcomes = run_checks(session, client, s, registry, reported_at + timedelta(hours=hours))
            return {session.get(TakedownItem, o.item_id).listing_id: o.status_after for o in outcomes}

    _post(sites, f"/admin/classifieds/{site_id[a.id]}/remove")
    assert check(2) == {a.id: "removed", b.id: "still_live", c.id: "still_live"}
    assert check(2.5) == {}, "nothing is due half an hour after the last check"
    _post(sites, f"/admin/classifieds/{site_id[b.id]}/remove")
    assert check(3) == {b.id: "removed", c.id: "still_live"}, "a removed listing is re-checked daily"
    _post(sites, f"/admin/classifieds/{site_id[a.id]}/restore")
    assert check(30) == {a.id: "reinstated", b.id: "removed", c.id: "still_live"}
    assert check(40) == {}, "after the first day, checks are daily"

    relisted = _post(sites, f"/admin/classifieds/{site_id[b.id]}/relist")
    page = -(-(200 - 1 + 1) // 20)
    new_url = f"{sites.url}/classifieds/item/{relisted['id']}"
    new = crawl_by_truth(sites, s, "classifieds", f"/classifieds/?page={page}", Path(s.var_dir), {new_url: b.url})
    load_listings(new, s, client)
    with session_scope(s) as session:
        links = detect(session, client, s, registry)
    relisting = next(i for i in new if i.url == new_url)
    assert [(r.listing_id, r.removed_item_id) for r in links] == [(relisting.id, _item(s, b.id).id)]

    with pytest.raises(ListingwatchError, match="Nothing to export"), session_scope(s) as session:
        export(session, client, s, registry, "local-classifieds", None, "lia")  # the relisting awaits its review
    with session_scope(s) as session:
        analyst = session.query(User).filter_by(name="ana").one()
        record_decision(session, relisting.id, "confirmed", analyst)
        packets, _ = export(session, client, s, registry, "local-classifieds", None, "lia")
    html = _members(packets[0].path)["report.html"].decode()
    removed_on = (reported_at + timedelta(hours=3)).strftime("%Y-%m-%d")
    assert f"This seller&#39;s listing was removed on {removed_on} and is back" in html

    with session_scope(s) as session:
        row = next(r for r in accountability.report(session, registry) if r.platform == "local-classifieds")
        checks = session.query(RemovalCheck).count()
    assert (row.reported, row.removed, row.reinstated, row.relisted) == (3, 2, 1, 1)
    assert (row.still_live_24h, row.eligible_24h, row.still_live_7d, row.eligible_7d) == (1, 3, 1, 3)
    # Kaplan–Meier with c still live (censored at 240 h): S(2 h) = 2/3, S(3 h) = 1/3 -> median 3 h; p90 not reached.
    assert (row.median_hours, row.p90_hours, row.within_promise, row.seller_deleted) == (3.0, None, 2, 0)
    client.indices.refresh(index=[listings_alias(s), observations_alias(s)])
    observed = client.count(index=observations_alias(s), query={"exists": {"field": "takedown_check.verdict"}})
    assert checks == 8 and observed["count"] == checks
    doc = client.get(index=listings_alias(s), id=a.id)["_source"]["takedown"]
    assert doc["status"] == "reinstated"
    assert [h["to"] for h in doc["history"]] == ["new", "queued", "reported", "removed", "reinstated"]


def _item(settings: Settings, listing_id: str) -> TakedownItem:
    with session_scope(settings) as session:
        return cases.get_item(session, listing_id)


def test_cli_lists_reports_and_shows_history(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    s = world.settings
    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(s.var_dir))
    monkeypatch.setenv("LISTINGWATCH_ES__PORT", str(s.es.port))
    monkeypatch.setenv("LISTINGWATCH_ES__INDEX_PREFIX", s.es.index_prefix)
    monkeypatch.setenv("LISTINGWATCH_USER", "ana")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        as_json = runner.invoke(app, ["takedown", "report", "--format", "json"])
        assert as_json.exit_code == 0, as_json.output
        assert "local-classifieds" in {row["platform"] for row in json.loads(as_json.output)}
        as_csv = runner.invoke(app, ["takedown", "report", "--format", "csv"])
        assert as_csv.output.splitlines()[0].startswith("platform,name,reported,removed,seller_deleted,still_live_24h")
        year = str(datetime.now(UTC).year)
        yearly_csv = runner.invoke(app, ["takedown", "report", "--period", year, "--format", "csv"])
        assert yearly_csv.exit_code == 0 and yearly_csv.output.startswith("platform,group,notices,"), yearly_csv.output
        yearly_table = runner.invoke(app, ["takedown", "report", "--period", year])
        assert yearly_table.exit_code == 0 and f"Notices sent in {year}" in yearly_table.output
        assert "platform,group" not in yearly_table.output, "the default format is a table, not CSV"
        history = runner.invoke(app, ["takedown", "history", world.confirmed[0].id, "--format", "tsv"])
        assert history.exit_code == 0 and "\t-\tnew\tconfirmed by analyst" in history.output
        assert SECRET_NOTE not in history.output
        refused = runner.invoke(app, ["takedown", "set", world.confirmed[0].id, "rejected"])
        assert refused.exit_code != 0 and "needs a liaison or admin account" in str(refused.exception)
    finally:
        get_settings.cache_clear()
