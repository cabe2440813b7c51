"""Field extraction order: selectors, then schema.org JSON-LD, then main text (recorded pages in tests/files/)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.extract.fields import extract_fields, parse_datetime
from crawlers.extract.pagekind import detect_page_kind
from crawlers.sources import FieldSelectors
from listingwatch.demo.marketplaces.sites import BROKEN_HTML, CHALLENGE_HTML, LOGIN_HTML

FILES = Path(__file__).parent / "files"


def test_selectors_take_element_text_and_attributes() -> None:
    html = (
        '<html lang="es"><body><h1 class="t">Pastillas <b>M30</b></h1><div class="d"><p>uno</p><p>dos</p></div>'
        '<span class="p">35,00 €</span><time datetime="2026-10-01T10:00:00Z">ayer</time>'
        '<img src="/a.jpg"><img src="/a.jpg"><img src="/b.jpg"></body></html>'
    )
    selectors = FieldSelectors(
        title="h1.t",
        description="xpath://div[@class='d']",
        price="span.p",
        posted_at="time::attr(datetime)",
        images="img::attr(src)",
    )
    fields = extract_fields(html, "http://x.test/item/1", selectors)
    assert fields.title == "Pastillas M30"
    assert fields.description == "uno dos"
    assert fields.price is not None and (fields.price.amount, fields.price.currency) == (35.0, "EUR")
    assert fields.posted_at == datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    assert fields.images == ["/a.jpg", "/b.jpg"]
    assert fields.language == "es"
    assert set(fields.methods.values()) == {"selector"}


def test_jsonld_fallback_reads_product_inside_graph() -> None:
    html = (FILES / "shop_product_jsonld.html").read_text()
    fields = extract_fields(html, "https://shop.example.org/p/1", FieldSelectors())
    assert fields.title == "Digital scale 0.01g, lab grade"
    assert fields.description == "Calibrated, with case."
    assert fields.price is not None and (fields.price.amount, fields.price.currency) == (24.99, "EUR")
    assert fields.seller == "LabSource Inc."
    assert fields.posted_at == datetime(2026, 10, 2, 6, 30, tzinfo=UTC)
    assert fields.images == ["https://cdn.example.org/scale.jpg"]
    assert fields.methods["title"] == "jsonld" and fields.methods["price"] == "jsonld"


def test_main_text_fallback_skips_navigation() -> None:
    html = (FILES / "news_article_no_markup.html").read_text()
    fields = extract_fields(html, "https://news.example.org/a/1", FieldSelectors())
    assert fields.title == "Police seize 40,000 fake M30 pills laced with fentanyl"
    assert fields.description is not None and "pressed to look like oxycodone" in fields.description
    assert "Privacy" not in fields.description and "Sports" not in fields.description
    assert fields.methods == {"title": "text", "description": "text"}


def test_broken_html_still_yields_fields() -> None:
    fields = extract_fields(BROKEN_HTML, "http://x.test/broken", FieldSelectors(title="h1.ad-title"))
    assert fields.title is not None and fields.title.startswith("Perc 30s blues")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-01T10:00:00+02:00", datetime(2026, 10, 1, 8, 0, tzinfo=UTC)),
        ("Posted 12 Oct 2026, 09:14", datetime(2026, 10, 12, 9, 14, tzinfo=UTC)),
        ("not a date at all", None),
    ],
)
def test_parse_datetime(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("status", "url", "html", "kind"),
    [
        (403, "http://x.test/item/1", CHALLENGE_HTML, "bot_challenge"),
        (200, "http://x.test/login?next=/item/7", LOGIN_HTML, "login_wall"),
        (500, "http://x.test/item/1", "<h1>Internal Server Error</h1>", "error"),
        (200, "http://x.test/item/1", "<h1>Bike for sale</h1><p>Log in to message the seller</p>", "listing"),
    ],
)
def test_page_kind(status: int, url: str, html: str, kind: str) -> None:
    assert detect_page_kind(status, url, html)[0] == kind
