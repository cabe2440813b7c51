"""Every contact kind the trade uses, in English and Spanish phrasing, and the look-alikes that are not contacts."""

import io

import pytest
from PIL import Image, ImageDraw

from core.schema import Listing, Photo
from crawlers.extract.entities import extract_entities
from crawlers.photos import OCR_MIN_SIDE, may_hold_print, prepared_for_ocr, read_texts
from crawlers.pipelines import ContactReading, enrich, listing_text
from listingwatch.demo.marketplaces.photos import menu_png, product_png
from tests.channel_contacts import BTC_SEGWIT, menu_jpeg

SESSION = "05" + "3f" * 32


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("Threema: 9ZRV2XYA", "threema", ["9ZRV2XYA"]),
        ("threema id → hx4k9twe", "threema", ["HX4K9TWE"]),
        ("contact threema.id/KW7T3PXM", "threema", ["KW7T3PXM"]),
        ("threema: available soon", "threema", []),
        (f"Session ID: {SESSION}", "session", [SESSION]),
        ("orders 👉 @plugmenu_bot", "telegram_bot", ["plugmenu_bot"]),
        ("t.me/PlugOrdersBot?start=menu", "telegram_bot", ["plugordersbot"]),
        ("mi telegram es @eljefe_mx", "telegram", ["eljefe_mx"]),
        ("shop: t.me/s/xmrplug_shop", "telegram", ["xmrplug_shop"]),
        ("Telegram is the best app", "telegram", []),
        ("Cash App: $KingPlug420", "cashtag", ["$kingplug420"]),
        ("pay cash.app/$frosty", "cashtag", ["$frosty"]),
        ("Price $25, $M30 blues, pay in $USDT", "cashtag", []),
        ("cashapp accepted, $USD only, $40 each", "cashtag", []),
        ("Venmo @king-plug-420", "venmo", ["king-plug-420"]),
        ("venmo.com/u/elpatron-tx", "venmo", ["elpatron-tx"]),
        ("Venmo accepted", "venmo", []),
        ("Zelle: king.plug@gmail.com", "zelle", ["king.plug@gmail.com"]),
        ("Aceptamos Zelle al +1 (713) 555-0199", "zelle", ["+17135550199"]),
        ("paypal.me/KingPlug", "paypal", ["kingplug"]),
        ("PayPal: pagos(at)plug(dot)com", "paypal", ["pagos@plug.com"]),
        ("correo: eljefe(arroba)protonmail(punto)com", "email", ["eljefe@protonmail.com"]),
        ("mail ghost [@] proton [.] me", "email", ["ghost@proton.me"]),
        ("punto de venta en el centro", "email", []),
    ],
)
def test_contact_kinds(text: str, field: str, expected: list[str]) -> None:
    assert getattr(extract_entities(text), field) == expected


@pytest.mark.parametrize(
    ("text", "region", "field", "expected"),
    [
        ("Escríbeme al wsp 55 1234 5678", "MX", "whatsapp", ["+525512345678"]),
        ("📲 WhatsApp ➡️ +52 1 55 2345 6789", "MX", "whatsapp", ["+525523456789"]),
        ("Llámame 33 9876 5432", "MX", "phone", ["+523398765432"]),
        ("llama al 612 345 678", "ES", "phone", ["+34612345678"]),
        ("call 602-555-0147", "US", "phone", ["+16025550147"]),
    ],
)
def test_phones_read_in_the_sources_country(text: str, region: str, field: str, expected: list[str]) -> None:
    assert getattr(extract_entities(text, region), field) == expected


def test_a_bare_handle_is_the_channel_platforms_username_only_there() -> None:
    text = "DM @blue_kid420, vouch from @happy_customer99, orders @patron_pedidos_bot"
    on_telegram = extract_entities(text, bare_handles="telegram")
    assert on_telegram.telegram == ["blue_kid420", "happy_customer99"]
    assert on_telegram.telegram_bot == ["patron_pedidos_bot"]
    elsewhere = extract_entities(text)
    assert elsewhere.telegram == [] and elsewhere.telegram_bot == ["patron_pedidos_bot"]
    # An e-mail's domain, a Wickr handle or a Venmo handle is never also a bare username.
    claimed = extract_entities("mail x@plugmail.com, wickr: @frosty_mx, venmo @frosty-mx", bare_handles="telegram")
    assert claimed.telegram == [] and claimed.wickr == ["frosty_mx"] and claimed.venmo == ["frosty-mx"]


def test_no_phone_inside_a_crypto_address_or_session_id() -> None:
    found = extract_entities(f"BTC 1BoatSLRHtKNngkdXEeobR76b53LETtpyT session {SESSION}", "MX")
    assert found.phone == found.phone_unverified == []


def test_contact_reading_of_a_source_defaults() -> None:
    reading = ContactReading()
    assert reading.region("https://anuncios.example.mx/item/1") == "MX"
    assert reading.region("https://shop.io/item/1") == "US"  # .io is sold as a generic name
    assert ContactReading(country="CO").region("https://x.mx/") == "CO"


def test_extraction_never_reads_a_truncated_title() -> None:
    description = f"Pressed M30s restock, fast and discreet, pay in BTC only to the address {BTC_SEGWIT} thanks"
    item = Listing(url="https://t.me/s/x/1", source="s", platform="p", title=description[:90], description=description)
    assert listing_text(item) == description
    assert [a.address for a in enrich(item).crypto] == [BTC_SEGWIT]


def test_photo_text_feeds_contacts_but_only_checksum_valid_addresses() -> None:
    item = Listing(
        url="https://t.me/s/x/2",
        source="s",
        platform="p",
        description="menu in the pic",
        photos=[Photo(url="https://t.me/p.jpg", sha256="0" * 64, text=f"Threema: KW7T3PXM\nBTC {BTC_SEGWIT[:-1]}x")],
    )
    out = enrich(item)
    assert out.contacts.threema == ["KW7T3PXM"] and out.crypto == []


def test_ocr_reads_menu_photos_in_one_batch_and_skips_thumbnails_and_junk() -> None:
    menus = [
        menu_jpeg(("MENU", "Threema: KW7T3PXM", "Cash App: $frostymenu")),
        menu_png(("PRICE LIST", "Signal: plug.42"), "b"),
        menu_png(("nothing here to read",), "c"),
    ]
    images = [prepared_for_ocr(m) for m in menus]
    assert all(images)
    batch = read_texts([i for i in images if i])
    assert batch == [read_texts([i])[0] for i in images if i]  # the batch reads each page as a run of its own would
    assert batch[0] is not None and "KW7T3PXM" in batch[0] and "$frostymenu" in batch[0]
    assert batch[1] is not None and "plug.42" in batch[1] and "KW7T3PXM" not in batch[1]
    tiny = io.BytesIO()
    Image.new("RGB", (OCR_MIN_SIDE - 1, 400), "white").save(tiny, format="PNG")
    assert prepared_for_ocr(tiny.getvalue()) is None
    assert prepared_for_ocr(b"not an image") is None
    assert prepared_for_ocr(product_png("seller/1")) is None  # no line of print: Tesseract is not run


def _gray(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("L")


def test_the_print_check_skips_product_shots_but_never_text_or_busy_photos() -> None:
    """Skipping a photo loses its text for good, so the check may only say no where no line of print can be."""
    assert may_hold_print(_gray(menu_jpeg(("Threema: KW7T3PXM",))))
    assert may_hold_print(_gray(menu_png(("MENU", "Cash App: $frostymenu"), "s")))
    small_print = Image.new("L", (640, 480), 235)
    ImageDraw.Draw(small_print).text((20, 20), "Signal: plug.42 - ships EU", fill=20)  # Pillow's 10px default font
    assert may_hold_print(small_print)
    noise = Image.effect_noise((640, 480), 80)  # grain, foliage, gravel: no print, but read rather than guessed
    assert may_hold_print(noise)
    assert not any(may_hold_print(_gray(product_png(f"seller{n}/0"))) for n in range(50))
    assert not may_hold_print(Image.linear_gradient("L").resize((640, 480)))
