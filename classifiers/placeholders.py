"""Contact identifiers replaced by typed placeholders: the model learns that a handle is there, not whose.

Real market text carries e-mail addresses, messenger handles, phone numbers, wallet addresses,
links and PGP keys of real people. The shipped corpus keeps none of them: each becomes a
placeholder naming its type (`<email>`, `<telegram>`, `<btc_address>`...). That a listing says
"wickr: <wickr>" is a signal of an offer; which account it names is not, and must not be
redistributed. Text handed to the model at inference can go through the same function so that
training and serving read the same words.
"""

import re

_MESSENGERS = {
    "telegram": "telegram",
    "tg": "telegram",
    "wickr": "wickr",
    "wikr": "wickr",
    "signal": "signal",
    "whatsapp": "whatsapp",
    "kik": "kik",
    "snapchat": "snapchat",
    "session": "session",
    "threema": "threema",
    "icq": "icq",
    "jabber": "jabber",
    "xmpp": "jabber",
    "discord": "discord",
    "instagram": "instagram",
    "insta": "instagram",
    "ig": "instagram",
    "skype": "skype",
    "wechat": "wechat",
}

_PGP = re.compile(r"-----BEGIN PGP [A-Z ]+-----.*?(?:-----END PGP [A-Z ]+-----|$)", re.DOTALL)
_URL = re.compile(r"(?i)\b(?:https?://|www\.|t\.me/|telegram\.me/|wa\.me/)[^\s<>\"']+")
_ONION = re.compile(r"(?i)\b[a-z2-7]{16,56}\.onion\b\S*")
_EMAIL = re.compile(r"(?i)[\w+-]+(?:\.[\w+-]+)*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}")
# "wickr: name", "Telegram - @name", "wickr me ... name", "WICKR ID>>>> name": a messenger, a separator, the account.
# Scraped descriptions run words together ("ThanksWickr ID: name"), so names no ordinary word contains match
# inside a word; the others ("signal", "session", "ig") only on their own.
_GLUED = ("wickr", "wikr", "telegram", "whatsapp", "threema", "jabber", "xmpp", "icq", "kik")
_SEPARATOR = r"(?::+|;|=|\.{2,}|-+|\u2013|>{2,}|/|@|\*+|\()"


def _names(names) -> str:
    return "|".join(sorted(map(re.escape, names), key=len, reverse=True))


_LABELLED = re.compile(
    r"(?i)((?<!<)(?:" + _names(_GLUED) + r")|(?<![<A-Za-z_])(?:" + _names(set(_MESSENGERS) - set(_GLUED)) + r"))"
    r"(\s*(?:(?:me|id|handle|username|name)\b\s*)?(?:" + _SEPARATOR + r"\s*)+)@?([\w][\w.\-]{2,40})"
)
_HANDLE = re.compile(r"(?<![\w.@<])@([A-Za-z_][A-Za-z0-9_.]{2,31})")
_BTC = re.compile(r"\b(?:bc1[ac-hj-np-z02-9]{11,71}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})\b")
_ETH = re.compile(r"\b0x[a-fA-F0-9]{40}\b")
_XMR = re.compile(r"\b[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b")
_PHONE = re.compile(r"(?<![\d+])(\+\d[\d ()\-./]{7,}\d|\(?\d{2,4}\)?[ \-]\d[\d \-]{5,}\d)(?!\d)")
_CAS = re.compile(r"^\d{2,7}-\d{2}-\d$")

PLACEHOLDERS = (
    "<pgp_key>",
    "<url>",
    "<onion>",
    "<email>",
    "<handle>",
    "<btc_address>",
    "<eth_address>",
    "<xmr_address>",
    "<phone>",
    *sorted({f"<{kind}>" for kind in _MESSENGERS.values()}),
)


def _url(match: re.Match) -> str:
    low = match.group(0).lower()
    if ".onion" in low:
        return "<onion>"
    if "t.me/" in low or "telegram.me/" in low:
        return "<telegram>"
    if "wa.me/" in low or "whatsapp.com/" in low:
        return "<whatsapp>"
    return "<url>"


def _labelled(match: re.Match) -> str:
    label, sep, account = match.groups()
    if account.startswith("<"):
        return match.group(0)
    return f"{label}{sep.replace('@', '') or ' '}<{_MESSENGERS[label.lower()]}>"


def _btc(match: re.Match) -> str:
    value = match.group(0)
    # a base58 run of one character class only (a long word, a number) is not an address
    if value.startswith("bc1") or (re.search(r"\d", value[1:]) and re.search(r"[A-Za-z]", value)):
        return "<btc_address>"
    return value


def _phone(match: re.Match) -> str:
    value = match.group(0)
    digits = re.sub(r"\D", "", value)
    if not 9 <= len(digits) <= 15 or _CAS.match(value.strip()):
        return value
    return "<phone>"


def scrub_contacts(text: str) -> str:
    """`text` with every contact identifier replaced by its typed placeholder."""
    if not text:
        return text
    text = _PGP.sub("<pgp_key>", text)
    text = _URL.sub(_url, text)
    text = _ONION.sub("<onion>", text)
    text = _EMAIL.sub("<email>", text)
    text = _XMR.sub("<xmr_address>", text)
    text = _ETH.sub("<eth_address>", text)
    text = _BTC.sub(_btc, text)
    text = _PHONE.sub(_phone, text)  # before the messenger labels: "+15551234567Wickr: name" has two
    text = _LABELLED.sub(_labelled, text)
    return _HANDLE.sub("<handle>", text)


def placeholder_counts(text: str) -> dict[str, int]:
    """How many of each placeholder `text` holds (for the data card's figures)."""
    return {p: text.count(p) for p in PLACEHOLDERS if p in text}
