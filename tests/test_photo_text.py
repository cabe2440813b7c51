"""The OCR stage after a crawl: photos read back from the WARC, text and contacts put on this run's listings only."""

import io
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from core.schema import Listing, Photo
from core.settings import load_settings
from crawlers.evidence import Capture, WarcWriter
from crawlers.photo_text import fill_photo_texts
from crawlers.photos import PhotoFacts, analyse, prepared_for_ocr, read_texts
from crawlers.pipelines import ContactReading, enrich
from crawlers.run import CrawlReport, crawl_warnings
from crawlers.sources import load_source
from crawlers.spiders.listing import ListingSpider
from listingwatch.demo.marketplaces.photos import menu_png, product_png

THREEMA = "KW7T3PXM"


def _capture(writer: WarcWriter, url: str, body: bytes) -> Capture:
    return writer.capture(
        url=url,
        method="GET",
        request_headers=[],
        request_body=b"",
        status=200,
        response_headers=[("Content-Type", "image/png")],
        body=body,
    )


def _listing(n: int, photo_url: str, capture: Capture) -> Listing:
    photo = Photo(
        url=photo_url,
        sha256=capture.body_sha256,
        warc_file=str(capture.warc_file),
        warc_offset=capture.offset,
        warc_record_id=capture.record_id,
    )
    return enrich(
        Listing(
            url=f"https://shop.example/item/{n}",
            source="t",
            platform="Shop",
            title=f"Item {n}",
            description="menu in pic",
            photos=[photo],
        )
    )


def test_queued_photos_are_read_from_the_warc_and_only_this_runs_lines_change(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path / "var")
    writer = WarcWriter(settings.var_dir / "warc", "t", 10_000_000)
    menu = _capture(writer, "https://shop.example/menu.png", menu_png(("MENU", f"Threema: {THREEMA}"), "t"))
    shot = _capture(writer, "https://shop.example/shot.png", product_png("t/1"))
    writer.close()
    earlier = _listing(0, "https://shop.example/menu.png", menu).model_dump_json() + "\n"  # an earlier run's line
    written = [_listing(1, "https://shop.example/menu.png", menu), _listing(2, "https://shop.example/shot.png", shot)]
    output = tmp_path / "out.jsonl"
    output.write_text(earlier + "".join(item.model_dump_json() + "\n" for item in written), encoding="utf-8")
    queue = {menu.body_sha256: (str(menu.warc_file), menu.offset), "0" * 64: (str(menu.warc_file), menu.offset)}

    nothing = fill_photo_texts(output, len(earlier.encode()), queue, settings, ContactReading(), budget_s=0)
    assert (nothing.read, nothing.unread, nothing.listings_updated) == (0, 2, 0)

    report = fill_photo_texts(output, len(earlier.encode()), queue, settings, ContactReading())
    # The second entry's record does not hash to its SHA-256: counted as unread, never read as that photo.
    assert (report.queued, report.read, report.with_text, report.unread, report.listings_updated) == (2, 1, 1, 1, 1)
    lines = output.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[0] == earlier and lines[2] == written[1].model_dump_json() + "\n"
    read = Listing.model_validate_json(lines[1])
    assert read.photos[0].text is not None and f"Threema: {THREEMA}" in read.photos[0].text
    assert read.contacts.threema == [THREEMA] and written[0].contacts.threema == []


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb's calling card)."""
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    ihdr = struct.pack(">I", len(head)) + b"IHDR" + head + struct.pack(">I", zlib.crc32(b"IHDR" + head))
    idat_data = zlib.compress(b"\0" * 16)
    idat = struct.pack(">I", len(idat_data)) + b"IDAT" + idat_data + struct.pack(">I", zlib.crc32(b"IDAT" + idat_data))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


def test_photo_analysis_refuses_huge_claims_before_decoding_and_flags_what_ocr_may_read() -> None:
    with pytest.warns(Image.DecompressionBombWarning):  # Pillow warns; nothing is decoded
        assert analyse(_png_claiming(10_000, 10_000)) == PhotoFacts(None, 10_000, 10_000)
    assert analyse(_png_claiming(20_000, 20_000)) == PhotoFacts(None, None, None)  # past Pillow's own bomb limit
    assert analyse(b"<svg onload=alert(1)>") == PhotoFacts(None, None, None)
    menu, shot = analyse(menu_png(("MENU", "Threema: KW7T3PXM"), "t")), analyse(product_png("t/1"))
    assert menu.phash and menu.worth_reading and shot.phash and shot.worth_reading  # the print check runs after
    thumb = io.BytesIO()
    Image.new("RGB", (100, 400), "white").save(thumb, format="PNG")
    assert analyse(thumb.getvalue()).phash and not analyse(thumb.getvalue()).worth_reading


def test_a_photo_stored_on_its_side_is_turned_by_its_exif_before_the_print_check_and_ocr() -> None:
    upright = Image.open(io.BytesIO(menu_png(("MENU", "Threema: KW7T3PXM"), "x")))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view", as phones store portrait shots
    stored = io.BytesIO()
    upright.rotate(90, expand=True).save(stored, format="JPEG", exif=exif, quality=92)
    image = prepared_for_ocr(stored.getvalue())
    assert image is not None and image.size == (800, 600)
    assert read_texts([image]) == ["MENU\nThreema: KW7T3PXM"]


def test_photos_past_the_ocr_queue_cap_are_counted_as_not_read(tmp_path: Path) -> None:
    source = load_source(Path(__file__).resolve().parents[1] / "crawlers/sources/classifieds.yaml")
    spider = ListingSpider(source, str(tmp_path))
    spider.ocr_queue_cap = 2
    captures = [Capture(tmp_path / "a.warc.gz", n, f"<urn:{n}>", f"{n:064x}", datetime.now(UTC)) for n in range(4)]
    for capture in [*captures, captures[0]]:  # the same photo again (another URL) is queued once
        spider._queue_for_ocr(capture)
    assert spider.ocr_queue == {c.body_sha256: (str(c.warc_file), c.offset) for c in captures[:2]}
    assert spider.ocr_queue_full == 2
    report = CrawlReport(
        source="classifieds", started_at=datetime.now(UTC), output=tmp_path / "o.jsonl", skipped={"photo_not_read": 2}
    )
    assert any("2 photo(s) were not read by OCR" in w for w in crawl_warnings(source, report))
