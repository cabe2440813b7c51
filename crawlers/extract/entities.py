"""Contacts, prices and shipping phrases in listing text.

Sellers of illicit goods move buyers off-platform fast, so the handles (Telegram, Wickr,
WhatsApp, Signal, Snapchat), phones, e-mails and "ships from/to" phrases are the fields an
analyst and a platform act on. Text is hostile and obfuscated ("name [at] mail [dot] com",
"tg ➜ @plug"), so patterns are deliberately tolerant about separators and strict about the
handle itself.
"""

import re
from dataclasses import dataclass

import phonenumbers
from price_parser import Price
from pydantic import Field

from core.schema import Contacts
from crawlers.extract.crypto import address_spans

# What sits between a service's name and its handle: punctuation, arrows, emoji pointers and the
# small words of "my telegram is @x" / "mi telegram es @x" / "escríbeme al whatsapp 55…".
_SEP_MARK = r"[:：=\-–—>»➜➡→⇒👉👇⬇📲📱☎📞✉️\ufe0f]"
_SEP_WORD = r"\b(?:is|at|on|via|me|id|es|al|en|por|como|mi|el|usuario|user(?:name)?)\b"
_SEP = rf"(?:\s*(?:{_SEP_MARK}|{_SEP_WORD}))*\s*"
# A handle without "@" only after a hard separator ("telegram: plug"), never after words ("telegram is best").
_HARD_SEP = rf"\s*(?:{_SEP_MARK}\s*)+"
_HANDLE = r"@?([A-Za-z][A-Za-z0-9_.\-]{2,40}[A-Za-z0-9_])"
_TG_NAME = r"([A-Za-z][A-Za-z0-9_]{3,31})"
_TG_WORD = r"\b(?:telegram|telegrama|tele|tg)\b"

_TELEGRAM = [
    re.compile(r"(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?" + _TG_NAME + r"(?![A-Za-z0-9_])", re.IGNORECASE),
    re.compile(_TG_WORD + _SEP + "@" + _TG_NAME + r"\b", re.IGNORECASE),
    re.compile(_TG_WORD + _HARD_SEP + _TG_NAME + r"\b", re.IGNORECASE),
]
_TG_STOP = {"only", "me", "for", "and", "the", "solo", "para", "por", "channel", "canal", "group", "grupo", "joinchat"}
# Telegram bot usernames must end in "bot"; one ending in "_bot" is a bot wherever it is written.
_BOT_ANYWHERE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{1,28}_bot)\b", re.IGNORECASE)
_BARE_AT = re.compile(r"(?<![\w@.$/])@([A-Za-z][A-Za-z0-9_]{3,31})(?![\w@])")
_WICKR = re.compile(r"\bwickr(?:\s*me)?\b" + _SEP + _HANDLE, re.IGNORECASE)
_SNAPCHAT = re.compile(r"(?:\b(?:snapchat|snap|sc)\b|👻)" + _SEP + _HANDLE, re.IGNORECASE)
_SIGNAL_USER = re.compile(r"\bsignal\b" + _SEP + r"@?([A-Za-z][A-Za-z0-9_]{2,31}\.\d{2,9})\b", re.IGNORECASE)
# Threema IDs are 8 characters of A-Z and 0-9 (gateway IDs start with "*"); only next to the name or its link.
_THREEMA = [
    re.compile(r"\bthreema\b" + _SEP + r"(?:threema\.id/)?(\*?[A-Z0-9]{7,8})(?![A-Za-z0-9])", re.IGNORECASE),
    re.compile(r"threema\.id/(\*?[A-Z0-9]{7,8})(?![A-Za-z0-9])", re.IGNORECASE),
]
# A Session ID is the account's public key: "05" + 64 hex digits; nothing else in a listing looks like it.
_SESSION = re.compile(r"(?<![0-9A-Fa-fx])(05[0-9a-fA-F]{64})(?![0-9A-Fa-f])")
_WHATSAPP_LINK = re.compile(r"(?:wa\.me/|whatsapp\.com/send/?\?phone=)\+?(\d{7,15})", re.IGNORECASE)
# A phone after the messengers it is for: "WhatsApp/Wickr: +86 155 0000 1234", "telegram +86 188...",
# "escríbeme al wsp 55 1234 5678".
_WHATSAPP_WORD = r"whats\s*app|whats|wsp|wpp|wasap|guasap|wa"
_MESSENGER = rf"(?:{_WHATSAPP_WORD}|signal|telegram|tele|tg|wickr(?:\s*me)?|zelle)"
_APP_PHONE = re.compile(
    rf"\b({_MESSENGER}(?:\s*(?:/|,|&|\+|\bor\b|\band\b|\by\b|\bo\b)\s*{_MESSENGER})*)\b"
    + _SEP
    + r"(\+?[\d(][\d\s().\-]{6,20}\d)",
    re.IGNORECASE,
)
_MESSENGER_NAME = re.compile(_MESSENGER, re.IGNORECASE)
# Mexican mobiles are still written "+52 1 55 …" (WhatsApp showed them so for years); the "1" was dropped in
# 2019 and the phone library no longer reads it.
_MX_MOBILE_1 = re.compile(r"\+\s*52[\s.\-]*1[\s.\-]*(?=\(?\d{2,3}\)?[\s.\-]*\d{3,4}[\s.\-]*\d{4}(?!\d))")

# Payment handles. Cash App $cashtags: 1-20 characters with a letter first; a "$word" counts only when the text
# names Cash App (or links cash.app), since "$USDT" or "$M30" alone are not accounts.
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9_\-]{0,19})(?![\w$\-])")
_CASHAPP_WORD = re.compile(r"\bcash\s*app\b|\bcashapp\b|\bcash\.(?:app|me)/", re.IGNORECASE)
_CASHAPP_LINK = re.compile(r"\bcash\.(?:app|me)/\$([A-Za-z][A-Za-z0-9_\-]{0,19})\b", re.IGNORECASE)
_NOT_CASHTAGS = {"usd", "usdt", "usdc", "btc", "eth", "xmr", "ltc", "mxn", "eur", "cad", "aud", "gbp", "cop", "ars"}
_VENMO = [
    re.compile(r"\bvenmo\.com/(?:u/|code\?user_id=)?([A-Za-z0-9][A-Za-z0-9_\-]{4,29})\b", re.IGNORECASE),
    re.compile(r"\bvenmo\b" + _SEP + r"@([A-Za-z0-9][A-Za-z0-9_\-]{4,29})\b", re.IGNORECASE),
    re.compile(r"\bvenmo\b" + _HARD_SEP + r"([A-Za-z0-9][A-Za-z0-9_\-]{4,29})\b", re.IGNORECASE),
]
_PAYPAL_ME = re.compile(r"\bpaypal\.me/([A-Za-z0-9]{1,20})\b", re.IGNORECASE)
_PAY_STOP = {"only", "accepted", "payments", "friends", "family", "solo", "aceptamos", "pagos"}
# Zelle and PayPal name an e-mail or phone as the account: "Zelle: plug@mail.com", "zelle al 602-555-0147".
_EMAIL_ACCOUNT = r"([A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,24})"
_ZELLE_EMAIL = re.compile(r"\bzelle\b" + _SEP + _EMAIL_ACCOUNT, re.IGNORECASE)
_PAYPAL_EMAIL = re.compile(r"\bpaypal\b" + _SEP + _EMAIL_ACCOUNT, re.IGNORECASE)

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,24}\b")
_EMAIL_AT = re.compile(r"\s*(?:[\[({<]\s*(?:at|arroba|@)\s*[\])}>]|\s+(?:at|arroba)\s+|\s+@\s+)\s*", re.IGNORECASE)
_EMAIL_DOT = re.compile(
    r"\s*(?:[\[({<]\s*(?:dot|punto|\.)\s*[\])}>]|\s+(?:dot|punto)\s+(?=[A-Za-z]{2,24}\b))\s*", re.IGNORECASE
)

_PLACE = r"((?-i:[A-Z][A-Za-zÀ-ÿ]+(?:[ \-][A-Z][A-Za-zÀ-ÿ]+){0,2})|worldwide|anywhere|domestic)"
_SHIP_FROM = re.compile(
    r"\b(?:ships?|shipping|shipped|dispatch(?:ed|es)?|sent|envío|envio|enviamos|desde)\s+(?:from|desde)?\s*:?\s*"
    + _PLACE,
    re.IGNORECASE,
)
_SHIP_TO = re.compile(
    r"\b(?:ships?|shipping|delivery|deliver|envío|envio|enviamos)\s+(?:to|a|para)\s*:?\s*"
    r"(?:all\s+of\s+)?(?:the\s+)?" + _PLACE,
    re.IGNORECASE,
)
_FROM_TO = re.compile(r"\bfrom\s+" + _PLACE + r"\s+to\s+" + _PLACE, re.IGNORECASE)
_WORLDWIDE = re.compile(r"\b(worldwide|world\s*wide|ww)\s+(?:shipping|delivery)\b|\benvío\s+mundial\b", re.IGNORECASE)

CURRENCY_CODES = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "C$": "CAD", "A$": "AUD", "¥": "JPY", "MX$": "MXN"}
_PRICE_HINT = re.compile(r"[$€£¥]\s?\d|\d\s?(?:(?:usd|eur|gbp|mxn|dollars|euros)\b|[$€£])", re.IGNORECASE)
_PRICE_WINDOW = re.compile(
    r"(?:[$€£¥]|US\$|MX\$)\s?\d+(?:[,.]\d+)*"  # separators only between digits: "$120," is $120
    r"|(?<![\w.])\d+(?:[,.]\d+)*\s?(?:(?:usd|eur|gbp|mxn|dollars|euros)\b|[$€£])",
    re.I,
)


class Entities(Contacts):
    """The listing schema's contact kinds as found in one text, plus its shipping phrases.

    Lists grow as the finders add to them and are not capped here: the pipeline caps each at
    `MAX_LIST` when it builds the listing's `Contacts`.
    """

    ship_from: list[str] = Field(default_factory=list)
    ship_to: list[str] = Field(default_factory=list)


# Platforms whose bare "@name" is their own username (a channel or social source names one of these).
BARE_HANDLE_PLATFORMS = ("telegram", "snapchat", "signal", "wickr", "venmo")


def _add(bucket: list[str], value: str) -> None:
    if value and value not in bucket:
        bucket.append(value)


def _messenger_field(name: str) -> str:
    name = re.sub(r"\s+", "", name.lower())
    if name.startswith("wickr"):
        return "wickr"
    if name in {"telegram", "tele", "tg"}:
        return "telegram"
    if name in {"signal", "zelle"}:
        return name
    return "whatsapp"


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the spans blanked (same length, so positions hold): a phone is never read inside an address."""
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def normalise_phone(raw: str, region: str = "US", *, possible: bool = False) -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number.

    With `possible`, a number written in international form (``+44 7700 900123``) that has
    the right length but a range the library calls unassigned is kept too: ranges change
    faster than the library, and for an investigator a number in the text is a lead.
    """
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    valid = phonenumbers.is_valid_number(number)
    if not valid and not (possible and raw.lstrip().startswith("+") and phonenumbers.is_possible_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_phones(text: str, region: str | None = "US") -> tuple[list[str], list[str]]:
    """(valid phones, unverified phones): the latter written with a +country code but in a range not known valid.

    `region` is the source's country: "55 1234 5678" on a Mexican board is +52 55 1234 5678. With no region only
    numbers written with their +country code are read.
    """
    found: list[str] = []
    unverified: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(match.number):
            _add(found, e164)
        elif match.raw_string.lstrip().startswith("+"):
            _add(unverified, e164)
    return found, unverified


def deobfuscate_emails(text: str) -> str:
    """The text with "[at]"/"(arroba)"/"[dot]"/"punto" spellings turned back into "@" and "."."""
    return _EMAIL_DOT.sub(".", _EMAIL_AT.sub("@", text))


def find_emails(text: str) -> list[str]:
    """E-mails, including the "[at]"/"[dot]" (and Spanish "arroba"/"punto") spellings sellers use to dodge filters."""
    found: list[str] = []
    for m in _EMAIL.finditer(deobfuscate_emails(text)):
        _add(found, m.group(0).lower().rstrip("."))
    return found


def _bare_handle_kind(value: str, platform: str | None, telegram_named: bool) -> str | None:
    """Where a bare "@name" goes: the source platform's username; a Telegram one ending in "bot" is a bot."""
    if platform == "telegram" or (platform is None and telegram_named):
        return "telegram_bot" if value.endswith("bot") else "telegram"
    return platform


def find_handles(text: str, region: str | None = "US", bare_handles: str | None = None) -> Entities:
    """Messaging and payment handles, lower-cased without the leading @ (look-ups are case-insensitive).

    `bare_handles` names the platform a bare "@name" belongs to (a Telegram channel's posts say "@plug" for a
    Telegram user); without it a bare "@name" is only taken when it is a Telegram bot ("@orders_bot").
    Threema IDs keep their upper case, cashtags their "$": that is how the apps show them.
    """
    out = Entities()
    claimed: list[tuple[int, int]] = []

    def take(pattern: re.Pattern[str], bucket: list[str], normal: str = "lower") -> None:
        for m in pattern.finditer(text):
            value = m.group(1)
            value = value.upper() if normal == "upper" else value.lower()
            claimed.append(m.span())
            _add(bucket, value)

    for pattern in _TELEGRAM:
        for m in pattern.finditer(text):
            name = m.group(1).lower()
            if name in _TG_STOP:
                continue
            claimed.append(m.span())
            _add(out.telegram_bot if name.endswith("bot") else out.telegram, name)
    take(_WICKR, out.wickr)
    take(_SNAPCHAT, out.snapchat)
    take(_SIGNAL_USER, out.signal)
    for pattern in _THREEMA:
        take(pattern, out.threema, "upper")
    take(_SESSION, out.session)
    for pattern in _VENMO:
        for m in pattern.finditer(text):
            if (name := m.group(1).lower()) not in _PAY_STOP:
                claimed.append(m.span())
                _add(out.venmo, name)
    take(_PAYPAL_ME, out.paypal)
    deobfuscated = deobfuscate_emails(text)
    for m in _ZELLE_EMAIL.finditer(deobfuscated):
        _add(out.zelle, m.group(1).lower().rstrip("."))
    for m in _PAYPAL_EMAIL.finditer(deobfuscated):
        _add(out.paypal, m.group(1).lower().rstrip("."))
    for m in _CASHAPP_LINK.finditer(text):
        claimed.append(m.span())
        _add(out.cashtag, "$" + m.group(1).lower())
    if _CASHAPP_WORD.search(text):
        for m in _CASHTAG.finditer(text):
            if (name := m.group(1).lower()) not in _NOT_CASHTAGS:
                _add(out.cashtag, "$" + name)
    for m in _WHATSAPP_LINK.finditer(text):
        if phone := normalise_phone("+" + m.group(1), possible=True):
            _add(out.whatsapp, phone)
    for m in _APP_PHONE.finditer(text):
        if phone := normalise_phone(m.group(2), region or "US", possible=True):
            for name in _MESSENGER_NAME.findall(m.group(1)):
                _add(getattr(out, _messenger_field(name)), phone)
    for m in _BOT_ANYWHERE.finditer(text):
        claimed.append(m.span())
        _add(out.telegram_bot, m.group(1).lower())
    telegram_named = bool(re.search(_TG_WORD + r"|t\.me/", text, re.IGNORECASE))
    for m in _BARE_AT.finditer(text):
        if any(a <= m.start() < b for a, b in claimed):
            continue
        name = m.group(1).lower()
        kind = _bare_handle_kind(name, bare_handles, telegram_named and name.endswith("bot"))
        if kind is not None:
            _add(getattr(out, kind), name)
    return out


def find_shipping(text: str) -> tuple[list[str], list[str]]:
    """(origins, destinations) named in "ships from X" / "ships to Y" / "envío desde X" phrases."""
    origins: list[str] = []
    destinations: list[str] = []
    for m in _SHIP_FROM.finditer(text):
        if not re.match(r"(?:to|a|para)\b", m.group(1), re.IGNORECASE):
            _add(origins, m.group(1).strip(" ."))
    for m in _SHIP_TO.finditer(text):
        _add(destinations, m.group(1).strip(" ."))
    for m in _FROM_TO.finditer(text):
        _add(destinations, m.group(2).strip(" ."))
    if _WORLDWIDE.search(text):
        _add(destinations, "worldwide")
    return origins, destinations


def extract_entities(text: str, region: str | None = "US", bare_handles: str | None = None) -> Entities:
    """Everything above from one text (the listing's full text, never a truncated title).

    No phone is read inside a crypto address or Session ID: their digit runs look like numbers.
    """
    text = _MX_MOBILE_1.sub("+52 ", text)
    out = find_handles(text, region, bare_handles)
    out.email = find_emails(text)
    hidden = [*address_spans(text), *(m.span() for m in _SESSION.finditer(text))]
    app_phones = {*out.whatsapp, *out.signal, *out.telegram, *out.wickr, *out.zelle}
    phones, unverified = find_phones(_mask(text, hidden), region)
    out.phone = [p for p in phones if p not in app_phones]
    out.phone_unverified = [p for p in unverified if p not in app_phones]
    out.ship_from, out.ship_to = find_shipping(text)
    return out


@dataclass(frozen=True)
class ParsedPrice:
    amount: float
    currency: str | None
    text: str


def parse_price(text: str | None) -> ParsedPrice | None:
    """A price with its ISO currency (symbols mapped: "$" -> USD) from a price field or free text."""
    if not text:
        return None
    price = Price.fromstring(text)
    if price.amount is None:
        return None
    currency = price.currency
    if currency:
        currency = CURRENCY_CODES.get(currency.strip(), currency.strip().upper())
    return ParsedPrice(float(price.amount), currency, text.strip()[:200])


def find_price(text: str) -> ParsedPrice | None:
    """The first currency-marked amount in free text ("$25 each", "20 EUR"); bare numbers are not prices."""
    if not _PRICE_HINT.search(text):
        return None
    m = _PRICE_WINDOW.search(text)
    return parse_price(m.group(0)) if m else None
