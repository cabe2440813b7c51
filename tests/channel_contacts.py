"""A Telegram-style channel preview (t.me/s/<channel> markup) whose posts carry every contact kind the trade uses.

The markup follows the real page's structure (message wrap, bubble, owner name as an ``a`` around a
``span``, ``i.emoji`` wrappers, mentions as links, photo wraps drawn as background images, service
messages); the content is invented. Each post states the contacts and crypto addresses a careful
analyst would list for it: the truth the extractor is scored against. Posts are English and Spanish,
one has its contacts only in a photo (a menu), one puts a crypto address across the 120-character
title cut, and a few carry look-alikes that are not contacts at all.
"""

import html
import io
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import base58
import bech32
from PIL import Image, ImageDraw, ImageFont

from crawlers.extract.crypto import eip55

CHANNEL = "plugmenu_mx"
OWNER = "💊 Plug Menu MX 24/7 🔥"
_rng = random.Random(22)
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BTC_SEGWIT = bech32.encode("bc", 0, list(_rng.randbytes(32)))  # P2WSH: 62 characters
BTC_LEGACY = base58.b58encode_check(b"\x00" + _rng.randbytes(20)).decode()
LTC = base58.b58encode_check(b"\x30" + _rng.randbytes(20)).decode()
TRON = base58.b58encode_check(b"\x41" + _rng.randbytes(20)).decode()
ETH = eip55(_rng.randbytes(20).hex())
XMR = "4" + "".join(_rng.choice(_B58) for _ in range(94))
SESSION = "05" + _rng.randbytes(32).hex()
SESSION_2 = "05" + _rng.randbytes(32).hex()
BTC_P2SH = base58.b58encode_check(b"\x05" + _rng.randbytes(20)).decode()
TRON_2 = base58.b58encode_check(b"\x41" + _rng.randbytes(20)).decode()


@dataclass(frozen=True)
class Post:
    id: int
    text: str  # lines; "@name" mentions become links as Telegram renders them
    contacts: dict[str, list[str]] = field(default_factory=dict)
    crypto: list[str] = field(default_factory=list)
    photo_lines: tuple[str, ...] = ()  # text drawn on the post's photo


POSTS = [
    Post(
        1,
        "💊 Pressed M30s restock, 100 for $650 / 500 for $2800, fast and discreet, pay in BTC only to "
        f"{BTC_SEGWIT} and send the TX id\nOrders 👉 @plugmenu_bot",
        {"telegram_bot": ["plugmenu_bot"]},
        [BTC_SEGWIT],
    ),
    Post(
        2,
        "DM @blue_kid420 for the menu, backup account @bluekid_backup",
        {"telegram": ["blue_kid420", "bluekid_backup"]},
    ),
    Post(
        3,
        f"Safe contact only:\nThreema: 9ZRV2XYA\nSession ID: {SESSION}",
        {"threema": ["9ZRV2XYA"], "session": [SESSION]},
    ),
    Post(
        4,
        "Payments: Cash App $KingPlug420 · Venmo @king-plug-420 · Zelle kingplug420@protonmail.com · "
        "paypal.me/KingPlug420",
        {
            "cashtag": ["$kingplug420"],
            "venmo": ["king-plug-420"],
            "zelle": ["kingplug420@protonmail.com"],
            "email": ["kingplug420@protonmail.com"],
            "paypal": ["kingplug420"],
        },
    ),
    Post(
        5,
        "🇲🇽 Envíos a todo México 🇲🇽\nPedidos por WhatsApp al 55 1234 5678 o Telegram @eljefe_mx\n"
        "Correo: eljefe(arroba)protonmail(punto)com",
        {"whatsapp": ["+525512345678"], "telegram": ["eljefe_mx"], "email": ["eljefe@protonmail.com"]},
    ),
    Post(
        6,
        f"Cristal de la mejor calidad 💎 Escríbeme al wsp +52 33 1234 5678. Pago en USDT (TRC20): {TRON}",
        {"whatsapp": ["+523312345678"]},
        [TRON],
    ),
    Post(
        7,
        "Wickr: xanbarsdirect | Signal: plug.42 | call or text +1 602 555 0147",
        {"wickr": ["xanbarsdirect"], "signal": ["plug.42"], "phone": ["+16025550147"]},
    ),
    Post(
        8,
        "Snap: frosty.plug 👻 | email frostyplug@tutanota.com",
        {"snapchat": ["frosty.plug"], "email": ["frostyplug@tutanota.com"]},
    ),
    Post(
        9,
        "📌 Menu in the pic 👆 prices updated",
        {"threema": ["KW7T3PXM"], "cashtag": ["$frostymenu"]},
        photo_lines=("MENU - NOVEMBER", "M30 blues x100 $650", "Threema: KW7T3PXM", "Cash App: $frostymenu"),
    ),
    Post(
        10,
        "Aceptamos Zelle al +1 (713) 555-0199 y Cash App $ElPatronTX, entrega en Houston",
        {"zelle": ["+17135550199"], "cashtag": ["$elpatrontx"]},
    ),
    Post(
        11,
        f"XMR preferred: {XMR}\nETH/USDT ERC20: {ETH}\nshop: t.me/xmrplug_shop",
        {"telegram": ["xmrplug_shop"]},
        [XMR, ETH],
    ),
    Post(12, f"LTC {LTC} or BTC {BTC_LEGACY}\nTelegram: @ltc_vendor", {"telegram": ["ltc_vendor"]}, [LTC, BTC_LEGACY]),
    Post(13, "Stay safe, no DMs from fakes. Only this channel is real. Prices in $USD, $25 each, 10% off today"),
    Post(14, "Order #20261123 shipped 12/11/2026, tracking 9400 1000 0000 0000 0000 00, thanks for 5 years"),
    Post(
        15,
        "Questions? support [at] frostyplug [dot] net or WhatsApp wa.me/525598765432",
        {"email": ["support@frostyplug.net"], "whatsapp": ["+525598765432"]},
    ),
    Post(16, "Vouch from @happy_customer99: arrived in 3 days 🙏", {"telegram": ["happy_customer99"]}),
    Post(
        17,
        f"Contacto seguro por Session: {SESSION}\nThreema ID → 9ZRV2XYA\nVenmo: elpatron-tx",
        {"session": [SESSION], "threema": ["9ZRV2XYA"], "venmo": ["elpatron-tx"]},
    ),
    Post(
        18,
        "Cotizaciones por Signal: elpatron.07 o al correo ventas.patron@proton.me\nBot de pedidos: @patron_pedidos_bot",
        {"signal": ["elpatron.07"], "email": ["ventas.patron@proton.me"], "telegram_bot": ["patron_pedidos_bot"]},
    ),
    Post(
        19,
        "Llámame 📞 33 9876 5432 o mándame mensaje por telegram: frosty_plug",
        {"phone": ["+523398765432"], "telegram": ["frosty_plug"]},
    ),
    Post(
        20,
        "Cashapp $PlugMX · Zelle: pagos(at)plugmx(dot)com",
        {"cashtag": ["$plugmx"], "zelle": ["pagos@plugmx.com"], "email": ["pagos@plugmx.com"]},
    ),
    Post(21, "📲 WhatsApp ➡️ +52 1 55 2345 6789 (solo mensajes)", {"whatsapp": ["+525523456789"]}),
    Post(
        22,
        f"Threema → threema.id/HX4K9TWE\nSession 👉 {SESSION_2}\nWickr me: frosty_mx",
        {"threema": ["HX4K9TWE"], "session": [SESSION_2], "wickr": ["frosty_mx"]},
    ),
    Post(23, f"Pago solo en BTC {BTC_P2SH} o USDT TRC20 {TRON_2}. Sin excepciones.", {}, [BTC_P2SH, TRON_2]),
]


def _emoji(text: str) -> str:
    """Telegram wraps each emoji in <i class="emoji"><b>…</b></i>; mentions become t.me links."""
    out = []
    for word in html.escape(text).split(" "):
        if word.startswith("@") and len(word) > 5:
            name = word.rstrip(":.,")
            out.append(f'<a href="https://t.me/{name[1:]}">{name}</a>{word[len(name) :]}')
        elif word and all(ord(c) > 0x2000 for c in word):
            out.append(
                f'<i class="emoji" style="background-image:url(\'//telegram.org/img/emoji/x.png\')"><b>{word}</b></i>'
            )
        else:
            out.append(word)
    return " ".join(out)


def menu_jpeg(lines: tuple[str, ...]) -> bytes:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 40)
    image = Image.new("RGB", (960, 120 + 90 * len(lines)), (248, 244, 232))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((48, 60 + 90 * i), line, fill=(25, 25, 25), font=font)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def page(base: str) -> str:
    """The channel preview page: a pinned-message service notice, then every post, oldest first."""
    parts = [
        f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message '
        f'service_message js-widget_message" data-post="{CHANNEL}/0"><div class="tgme_widget_message_bubble">'
        f'<div class="tgme_widget_message_text">{html.escape(OWNER)} pinned a photo</div></div></div></div>'
    ]
    for post in POSTS:
        photo = ""
        if post.photo_lines:
            photo = (
                f'<a class="tgme_widget_message_photo_wrap 5823" href="{base}/{CHANNEL}/{post.id}?single" '
                f"style=\"width:800px;background-image:url('{base}/file/menu{post.id}.jpg')\">"
                '<div class="tgme_widget_message_photo" style="padding-top:60%"></div></a>'
            )
        text = "<br/>".join(_emoji(line) for line in post.text.split("\n"))
        parts.append(
            f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message '
            f'text_not_supported_wrap js-widget_message" data-post="{CHANNEL}/{post.id}" data-view="x">'
            f'<div class="tgme_widget_message_user"><a href="{base}/{CHANNEL}">'
            f'<i class="tgme_widget_message_user_photo bgcolor1" data-content="P"><img src="{base}/a.jpg"></i>'
            "</a></div>"
            '<div class="tgme_widget_message_bubble"><i class="tgme_widget_message_bubble_tail"></i>'
            '<div class="tgme_widget_message_author accent_color">'
            f'<a class="tgme_widget_message_owner_name" href="{base}/{CHANNEL}"><span dir="auto">{html.escape(OWNER)}'
            f"</span></a></div>{photo}"
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            '<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info '
            'short js-message_info"><span class="tgme_widget_message_views">1.2K</span><span class="copyonly"> views'
            '</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" '
            f'href="{base}/{CHANNEL}/{post.id}"><time datetime="2026-11-{post.id:02d}T12:00:00+00:00" class="time">'
            "12:00</time></a></span></div></div></div></div></div>"
        )
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(OWNER)} – Telegram</title></head>'
        f'<body class="widget_frame_base tgme_widget body_widget_post emoji_image nodark"><main class="tgme_main">'
        f'<section class="tgme_channel_history js-message_history">{body}</section></main></body></html>'
    )


class _Handler(BaseHTTPRequestHandler):
    base = ""

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif self.path == f"/s/{CHANNEL}":
            self._send(200, page(self.base).encode(), "text/html; charset=utf-8")
        elif self.path.startswith("/file/menu"):
            post = next(p for p in POSTS if self.path == f"/file/menu{p.id}.jpg")
            self._send(200, menu_jpeg(post.photo_lines), "image/jpeg")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def serve_channel() -> Iterator[str]:
    """The channel on 127.0.0.1 (a free port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    handler = type("Handler", (_Handler,), {"base": base})
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
