"""A small, varied set of listings for the web app tests, with real evidence files and one hostile listing.

Listings 0-2 share a Telegram handle (one seller cluster), 3-4 a BTC address, 5-6 have
near-identical descriptions; HOSTILE carries script and HTML injection in every text field.
"""

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from core.schema import Listing
from crawlers.evidence import Capture, WarcWriter
from listingwatch.demo.marketplaces.photos import menu_png

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SITES = ["alpha.example", "bravo.example", "charlie.example"]
XSS = '<script>alert("xss")</script><img src=x onerror="alert(1)"><svg onload=alert(2)>'
HOSTILE_TITLE = f'M30 blues {XSS} "quoted" & <b>bold</b>'
LONG_TEXT = (
    "Premium pressed pills shipped worldwide in vacuum sealed stealth packaging with tracking number "
    "and reship guarantee, escrow accepted, bulk discounts for wholesale buyers, contact for menu"
)


def _png() -> bytes:
    image = Image.new("RGB", (320, 200), (240, 240, 250))
    for x in range(20, 300):
        image.putpixel((x, 100), (30, 60, 160))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


MENU_LINES = ("MENU", "M30 blues x100 $450", "Threema: KW7T3PXM")
# Hostile "photo": SVG with script, labelled image/png by its server. It must never be served, whatever the label.
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(11)"><script>alert(12)</script></svg>'


def _get_record(writer: WarcWriter, url: str, body: bytes, content_type: str = "image/png") -> Capture:
    """A GET of `url` answered 200 with `body`, archived by `writer` (photos are labelled PNG, whatever they are)."""
    return writer.capture(
        url=url,
        method="GET",
        request_headers=[("User-Agent", "test")],
        request_body=b"",
        status=200,
        response_headers=[("Content-Type", content_type)],
        body=body,
    )


def _photo(url: str, capture: Capture, sha256: str, text: str | None = None) -> dict[str, object]:
    return {
        "url": url,
        "sha256": sha256,
        "text": text,
        "warc_file": str(capture.warc_file),
        "warc_offset": capture.offset,
        "warc_record_id": capture.record_id,
    }


def _base(i: int, **fields: object) -> dict[str, object]:
    site = SITES[i % 3]
    data: dict[str, object] = {
        "url": f"https://{site}/item/{i}",
        "source": site.split(".")[0],
        "platform": "Forum" if i % 2 else "Marketplace",
        "site": site,
        "http_status": 200,
        "fetched_at": T0 + timedelta(hours=i),
        "title": f"Listing {i} generic goods",
        "description": f"Plain description number {i} with nothing else in it.",
        "price": 20.0 + i,
        "currency": "USD",
        "language": "en",
        "seller": {"name": f"vendor{i}"},
        "classification": {
            "score": 0.5 + i * 0.04,
            "flagged": True,
            "threshold": 0.5,
            "substances": ["counterfeit_pill"],
            "scope": "synthetic",
            "model_version": "test-1",
        },
        "evidence": {"body_sha256": f"{i:064x}", "captured_at": T0 + timedelta(hours=i)},
    }
    data.update(fields)
    return data


def build(var_dir: Path) -> tuple[list[Listing], dict[str, str]]:
    """(listings to load in order, named ids). Writes the WARC and screenshot of listing 0 under var_dir."""
    body = b"<html><body><h1>M30 blues 100 pcs</h1><p>telegram @blueplug</p></body></html>"
    writer = WarcWriter(var_dir / "warc", "alpha", 10_000_000)
    capture = _get_record(writer, f"https://{SITES[0]}/item/0", body, "text/html")
    menu = menu_png(MENU_LINES, "web")
    photo_urls = [f"https://{SITES[0]}/img/{name}" for name in ("menu.png", "evil.png", "swapped.png")]
    archived = [_get_record(writer, url, body) for url, body in zip(photo_urls, (menu, SVG, _png()), strict=True)]
    writer.close()
    photos = [
        _photo(photo_urls[0], archived[0], archived[0].body_sha256, "\n".join(MENU_LINES)),
        _photo(photo_urls[1], archived[1], archived[1].body_sha256),
        _photo(photo_urls[2], archived[2], "e" * 64),  # the record no longer hashes to what the listing says
    ]
    shot = var_dir / "screenshots" / "item0.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    png = _png()
    shot.write_bytes(png)
    title0 = "M30 blues 100 pcs pressed"
    desc0 = "Real M30 blues, fent free they say. Telegram @blueplug, BTC accepted. Ships from Sinaloa."
    first = _base(
        0,
        title=title0,
        description=desc0,
        contacts={"telegram": ["@blueplug"]},
        photos=photos,
        evidence={
            "body_sha256": capture.body_sha256,
            "captured_at": capture.captured_at,
            "warc_file": str(capture.warc_file),
            "warc_offset": capture.offset,
            "warc_record_id": capture.record_id,
            "screenshot_path": str(shot),
            "screenshot_sha256": hashlib.sha256(png).hexdigest(),
        },
        classification={
            "score": 0.97,
            "flagged": True,
            "threshold": 0.5,
            "substances": ["counterfeit_pill", "fentanyl"],
            "scope": "synthetic",
            "model_version": "test-1",
            "labels": {"sale": 0.97, "fentanyl": 0.8},
            "explanation": {
                "lexicon": [
                    {"term": "m30", "category": "counterfeit_pill", "field": "title", "start": 0, "end": 3},
                    {"term": "fent", "category": "fentanyl", "field": "description", "start": 15, "end": 19},
                ],
                "tokens": [{"token": "blues", "weight": 0.21, "field": "description", "start": 9, "end": 14}],
            },
        },
    )
    older = dict(
        first,
        fetched_at=T0 - timedelta(days=1),
        evidence={"body_sha256": "0" * 64, "captured_at": T0 - timedelta(days=1)},
    )
    rows: list[dict[str, object]] = [older, first]
    rows.append(
        _base(
            1,
            title="Blues M30 by the hundred",
            contacts={"telegram": ["@BluePlug"]},
            description="Pressed blues, telegram @BluePlug for menu.",
        )
    )
    rows.append(_base(2, title="Xanax bars wholesale", contacts={"telegram": ["blueplug"], "phone": ["+15550100"]}))
    rows.append(
        _base(
            3,
            title="Crystal meth shards",
            crypto=[{"currency": "BTC", "address": "bc1qsharedaddress000"}],
            classification={
                "score": 0.88,
                "flagged": True,
                "threshold": 0.5,
                "substances": ["methamphetamine"],
                "scope": "synthetic",
                "model_version": "test-1",
            },
        )
    )
    rows.append(_base(4, title="Ice for sale", crypto=[{"currency": "BTC", "address": "bc1qsharedaddress000"}]))
    rows.append(_base(5, title="Stealth pills", description=LONG_TEXT))
    rows.append(
        _base(
            6,
            title="Stealth pills",
            description=LONG_TEXT + " today",
            classification={  # an other-drug offer scored above synthetic ones: ranked after them by default
                "score": 0.74,
                "flagged": True,
                "threshold": 0.5,
                "substances": ["other_drug"],
                "scope": "other_drug",
                "model_version": "test-1",
            },
        )
    )
    rows.append(
        _base(
            7,
            title="Harm reduction news",
            language="es",
            price=None,
            classification={
                "score": 0.05,
                "flagged": False,
                "threshold": 0.5,
                "substances": [],
                "model_version": "test-1",
            },
        )
    )
    rows.append(
        _base(
            8,
            url="https://alpha.example/item/evil?q=<script>alert(3)</script>",
            site="evil<script>alert(6)</script>.example",
            platform="Plat<img src=x onerror=alert(7)>",
            title=HOSTILE_TITLE,
            description=f'Buy here {XSS} </textarea></div><a href="javascript:alert(8)">click</a> M30 pills',
            seller={"name": f"seller{XSS}", "profile_url": "javascript:alert(9)"},
            contacts={"telegram": ["@blueplug", f"@x{XSS}"], "cashtag": [f"${XSS}"]},
            crypto=[{"currency": "BTC", "address": f"bc1q{XSS}"}],
            photos=[{"url": f"javascript:alert(10){XSS}", "sha256": "f" * 64, "text": f"MENU {XSS}"}],
            language="<i>en</i>",
            classification={
                "score": 0.93,
                "flagged": True,
                "threshold": 0.5,
                "substances": ["counterfeit_pill"],
                "scope": "synthetic",
                "model_version": "test-1<script>",
                "explanation": {
                    "lexicon": [
                        {"term": "m30", "category": "counterfeit_pill", "field": "title", "start": 0, "end": 15}
                    ]
                },
            },
        )
    )
    listings = [Listing.model_validate(r) for r in rows]
    ids = {"evidence": listings[1].id, "hostile": listings[-1].id, "negative": listings[-2].id, "meth": listings[4].id}
    return listings, ids
