"""Contacts, prices and shipping phrases in listing text.

Sellers of illicit goods move buyers off-platform fast, so the handles (Telegram, Wickr,
WhatsApp, Signal, Snapchat), phones, e-mails and "ships from/to" phrases are the fields an
analyst and a platform act on. Text is hostile and obfuscated ("name [at] mail [dot] com",
"tg ➜ @plug"), so patterns are deliberately tolerant about separators and strict about the
handle itself.
"""

import re
from dataclasses import dataclass, field

import phonenumbers
from price_parser import Price

_SEP = r"\s*(?:[:：=\-–—>➜➡→]|is|at)?\s*"
_HANDLE = r"@?([A-Za-z][A-Za-z0-9_.\-]{2,40}[A-Za-z0-9_])"

_TELEGRAM = [
    re.compile(r"(?:t\.me|telegram\.me)/([A-Za-z][A-Za-z0-9_]{3,31})", re.IGNORECASE),
    re.compile(r"\b(?:telegram|tele|tg)\b" + _SEP + r"@([A-Za-z][A-Za-z0-9_]{3,31})\b", re.IGNORECASE),
    re.compile(r"\b(?:telegram|tele|tg)\b" + _SEP + r"([A-Za-z][A-Za-z0-9_]{3,31})\b", re.IGNORECASE),
]
_WICKR = re.compile(r"\bwickr(?:\s*me)?\b" + _SEP + _HANDLE, re.IGNORECASE)
_SNAPCHAT = re.compile(r"(?:\b(?:snapchat|snap|sc)\b|👻)" + _SEP + _HANDLE, re.IGNORECASE)
_SIGNAL_USER = re.compile(r"\bsignal\b" + _SEP + r"@?([A-Za-z][A-Za-z0-9_]{2,31}\.\d{2,9})\b", re.IGNORECASE)
_WHATSAPP_LINK = re.compile(r"wa\.me/\+?(\d{7,15})", re.IGNORECASE)
# A phone after the messengers it is for: "WhatsApp/Wickr: +86 155 0000 1234", "telegram +86 188...".
_MESSENGER = r"(?:whats\s*app|wa|signal|telegram|tele|tg|wickr(?:\s*me)?)"
_APP_PHONE = re.compile(
    rf"\b({_MESSENGER}(?:\s*(?:/|,|&|\+|\bor\b|\band\b)\s*{_MESSENGER})*)\b" + _SEP + r"(\+?[\d(][\d\s().\-]{6,20}\d)",
    re.IGNORECASE,
)
_MESSENGER_NAME = re.compile(_MESSENGER, re.IGNORECASE)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,24}\b")
_EMAIL_AT = re.compile(r"\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*", re.IGNORECASE)
_EMAIL_DOT = re.compile(r"\s*(?:\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*", re.IGNORECASE)

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


@dataclass
class Entities:
    phone: list[str] = field(default_factory=list)
    phone_unverified: list[str] = field(default_factory=list)
    email: list[str] = field(default_factory=list)
    telegram: list[str] = field(default_factory=list)
    wickr: list[str] = field(default_factory=list)
    whatsapp: list[str] = field(default_factory=list)
    signal: list[str] = field(default_factory=list)
    snapchat: list[str] = field(default_factory=list)
    ship_from: list[str] = field(default_factory=list)
    ship_to: list[str] = field(default_factory=list)


def _add(bucket: list[str], value: str) -> None:
    if value and value not in bucket:
        bucket.append(value)


def _messenger_field(name: str) -> str:
    name = re.sub(r"\s+", "", name.lower())
    if name.startswith("wickr"):
        return "wickr"
    if name in {"telegram", "tele", "tg"}:
        return "telegram"
    return "signal" if name == "signal" else "whatsapp"


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


def find_phones(text: str, region: str = "US") -> tuple[list[str], list[str]]:
    """(valid phones, unverified phones): the latter written with a +country code but in a range not known valid."""
    found: list[str] = []
    unverified: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(match.number):
            _add(found, e164)
        elif match.raw_string.lstrip().startswith("+"):
            _add(unverified, e164)
    return found, unverified


def find_emails(text: str) -> list[str]:
    """E-mails, including the "[at]"/"[dot]" spellings sellers use to dodge filters."""
    deobfuscated = _EMAIL_DOT.sub(".", _EMAIL_AT.sub("@", text))
    found: list[str] = []
    for m in _EMAIL.finditer(deobfuscated):
        _add(found, m.group(0).lower().rstrip("."))
    return found


def find_handles(text: str) -> Entities:
    """Messaging handles, lower-cased without the leading @ (platform look-ups are case-insensitive)."""
    out = Entities()
    for pattern in _TELEGRAM:
        for m in pattern.finditer(text):
            _add(out.telegram, m.group(1).lower())
    out.telegram = [h for h in out.telegram if h not in {"only", "me", "for", "and", "the"}]
    for m in _WICKR.finditer(text):
        _add(out.wickr, m.group(1).lower())
    for m in _SNAPCHAT.finditer(text):
        _add(out.snapchat, m.group(1).lower())
    for m in _SIGNAL_USER.finditer(text):
        _add(out.signal, m.group(1).lower())
    for m in _WHATSAPP_LINK.finditer(text):
        if phone := normalise_phone("+" + m.group(1), possible=True):
            _add(out.whatsapp, phone)
    for m in _APP_PHONE.finditer(text):
        if phone := normalise_phone(m.group(2), possible=True):
            for name in _MESSENGER_NAME.findall(m.group(1)):
                _add(getattr(out, _messenger_field(name)), phone)
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


def extract_entities(text: str) -> Entities:
    """Everything above from one text (title + description)."""
    out = find_handles(text)
    out.email = find_emails(text)
    app_phones = {*out.whatsapp, *out.signal, *out.telegram, *out.wickr}
    phones, unverified = find_phones(text)
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
