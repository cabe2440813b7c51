"""Browser pages archived at the network level, listing photos fetched and hashed, WACZ, colour emoji.

The same classifieds pages (one has ``&#x27;`` in its HTML, which Chromium's DOM turns into
``'``) are crawled over plain HTTP and in the browser against the local site; both must
archive the bytes the server sent, byte for byte.
"""

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import imagehash
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from core.schema import Listing
from core.settings import Settings
from crawlers.run import CrawlReport, run_crawl
from crawlers.sources import LinkRule, Links, Photos
from crawlers.wacz import package_wacz
from listingwatch.demo.marketplaces.photos import listing_photo
from listingwatch.demo.marketplaces.sites import _LISTINGS, SitesServer, classifieds_item
from tests.plugins.sites import demo_source, read_listings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MENU_ITEM = 15  # its seller posts a price list picture whose Threema ID is nowhere in the text
ITEMS = [1, 2, 3, MENU_ITEM]  # item 2's title has an apostrophe: the server sends it as &#x27;
Runs = dict[str, tuple[CrawlReport, dict[str, Listing]]]


@pytest.fixture(scope="module")
def runs(sites: SitesServer, crawl_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    links = Links(
        listings=LinkRule(restrict_css=["ul.ads"], allow=[rf"/classifieds/item/({'|'.join(map(str, ITEMS))})$"]),
        next_pages=LinkRule(allow=["$^"]),
    )
    out: Runs = {}
    for render, photos in (("http", Photos(max_per_listing=1)), ("browser", Photos())):
        source = demo_source("classifieds", sites).model_copy(
            update={"name": f"bytes-{render}", "render": render, "links": links, "photos": photos}
        )
        output = tmp_path_factory.mktemp(f"bytes-{render}") / "out.jsonl"
        report = run_crawl(source, crawl_settings, output=output, timeout_s=90)
        out[render] = (report, {item.url: item for item in read_listings(output)})
    return out


def _record_at(path: str | Path, offset: int) -> Iterator[ArcWarcRecord]:
    with open(path, "rb") as fh:
        fh.seek(offset)
        yield next(iter(ArchiveIterator(fh)))


def _records(paths: list[Path]) -> dict[str, tuple[ArcWarcRecord, bytes]]:
    found: dict[str, tuple[ArcWarcRecord, bytes]] = {}
    for path in paths:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                found[record.rec_headers.get_header("WARC-Record-ID")] = (record, record.content_stream().read())
    return found


def test_both_modes_archive_the_bytes_the_server_sent(runs: Runs, sites: SitesServer) -> None:
    (_, http), (report, browser) = runs["http"], runs["browser"]
    assert report.errors == [] and set(http) == set(browser) == {f"{sites.url}/classifieds/item/{n}" for n in ITEMS}
    records = _records(report.warc_files)
    for url, item in browser.items():
        sent = classifieds_item(_LISTINGS["classifieds"][int(url.rsplit("/", 1)[1]) - 1]).encode()
        assert item.evidence.body_sha256 == http[url].evidence.body_sha256 == hashlib.sha256(sent).hexdigest()
        for record in _record_at(item.evidence.warc_file or "", item.evidence.warc_offset or 0):
            assert record.rec_type == "response" and record.content_stream().read() == sent
        # The DOM Chromium re-serialised is kept too, as a conversion record that points to the response.
        rendered, dom = records[item.evidence.rendered_record_id or ""]
        assert rendered.rec_type == "conversion"
        assert rendered.rec_headers.get_header("WARC-Refers-To") == item.evidence.warc_record_id
        assert hashlib.sha256(dom).hexdigest() == item.evidence.rendered_sha256
        shot, png = records[item.evidence.screenshot_record_id or ""]
        assert shot.rec_type == "resource" and shot.rec_headers.get_header("WARC-Concurrent-To") == (
            item.evidence.warc_record_id
        )
        assert hashlib.sha256(png).hexdigest() == item.evidence.screenshot_sha256
    apostrophe = browser[f"{sites.url}/classifieds/item/2"]
    assert b"&#x27;" in records[apostrophe.evidence.warc_record_id or ""][1]
    dom = records[apostrophe.evidence.rendered_record_id or ""][1]
    assert b"&#x27;" not in dom and apostrophe.evidence.rendered_sha256 != apostrophe.evidence.body_sha256


def test_photos_are_archived_with_sha256_and_phash(runs: Runs) -> None:
    for render, (report, listings) in runs.items():
        records = _records(report.warc_files)
        limit = 1 if render == "http" else 4
        assert any(item.images for item in listings.values())
        for url, item in listings.items():
            truth = _LISTINGS["classifieds"][int(url.rsplit("/", 1)[1]) - 1]
            assert [p.url for p in item.photos] == item.images[:limit]
            for position, photo in enumerate(item.photos):
                png = listing_photo(truth.seller, position, truth.photo_lines)
                assert photo.sha256 == hashlib.sha256(png).hexdigest()
                assert photo.phash == str(imagehash.phash(Image.open(io.BytesIO(png))))
                record, body = records[photo.warc_record_id or ""]
                assert record.rec_type == "response" and body == png
                # OCR ran on every photo: the price list reads back, the product shots hold no text.
                assert (photo.text is not None) == (position == 0 and bool(truth.photo_lines)), photo.text


def test_a_contact_only_in_a_photo_is_read_by_ocr(runs: Runs, sites: SitesServer) -> None:
    truth = _LISTINGS["classifieds"][MENU_ITEM - 1]
    (threema,) = truth.photo_contacts["threema"]
    assert threema not in truth.title + truth.description
    for _, listings in runs.values():
        item = listings[f"{sites.url}/classifieds/item/{MENU_ITEM}"]
        assert item.photos[0].text is not None and f"Threema: {threema}" in item.photos[0].text
        assert threema in item.contacts.threema


def test_a_run_packages_as_a_valid_wacz(runs: Runs, tmp_path: Path) -> None:
    report, listings = runs["browser"]
    wacz = package_wacz(report.warc_files, tmp_path / "run.wacz", listings_jsonl=report.output)
    names = zipfile.ZipFile(wacz).namelist()
    assert {"datapackage.json", "pages/pages.jsonl", "indexes/index.cdx.gz"} <= set(names)
    pages = zipfile.ZipFile(wacz).read("pages/pages.jsonl").decode()
    assert all(url in pages for url in listings)


def _coloured_share(png: bytes) -> float:
    pixels = list(Image.open(io.BytesIO(png)).convert("RGB").getdata())
    return sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 80) / len(pixels)


def test_emoji_render_in_colour(crawl_settings: Settings) -> None:
    """The fonts installed with the browser draw 💊 in colour (an empty box or a glyph outline is grey)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(crawl_settings.crawl.chromium_path), args=list(crawl_settings.crawl.browser_args)
        )
        page = browser.new_page()
        page.set_content(
            '<span id="e" style="font-size:96px;line-height:1">💊</span>'
            '<span id="m" style="font-size:96px;line-height:1">▣</span>'
        )
        emoji, plain = page.locator("#e").screenshot(), page.locator("#m").screenshot()
        browser.close()
    assert _coloured_share(emoji) > 0.05
    assert _coloured_share(plain) < 0.01  # the measure tells a colour glyph from a black one (or a tofu box)
