"""The words analysts type in the search box, read the way the index stores them.

Every `field:value` goes through the row of `NORMALISERS` for its field (none = the value as
typed, case-insensitively): a handle with or without `@`, a phone in any national or
international spelling (compared in E.164, as the extractor stores it), a crypto address with or
without its payment-URI scheme (`bitcoin:`), or a prefix ending in `*` or `…`, a platform by its
registry key, name or alias, a site by host without port, a substance by class or by one of its
lexicon words ("meth", "fent", "tranq"), a triage decision as the CLI spells it. A new contact
field is a field of `core.schema.Contacts` (which the index mapping and search read) and, if its
value needs reading, one row here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers
import yaml

PHONE_REGION = "US"  # the extractor's default region (crawlers.extract.entities.find_phones)
PAYMENT_SCHEMES = ("bitcoin:", "litecoin:", "ethereum:", "monero:", "dogecoin:", "bitcoincash:", "tron:")
TRIAGE_SPELLINGS = {
    "confirm": "confirmed",
    "confirmed": "confirmed",
    "false-positive": "false_positive",
    "false_positive": "false_positive",
    "falsepositive": "false_positive",
    "fp": "false_positive",
    "review": "needs_review",
    "needs-review": "needs_review",
    "needs_review": "needs_review",
    "untriaged": "untriaged",
}
TRIAGE_STATUSES = ("confirmed", "false_positive", "needs_review", "untriaged")


@dataclass(frozen=True)
class Match:
    """What one `field:value` looks for: exact values (case-insensitive) and prefixes."""

    values: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


def _handle(value: str) -> Match:
    bare = value.strip().lstrip("@")
    return Match(values=(bare, "@" + bare))


def _cashtag(value: str) -> Match:
    bare = value.strip().lstrip("$")
    return Match(values=("$" + bare,))


def phone_forms(value: str) -> tuple[str, ...]:
    """E.164 of what was typed (national numbers read in the extractor's region), plus the digits as typed."""
    digits = "".join(c for c in value if c.isdigit())
    forms: list[str] = []
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
        if phonenumbers.is_possible_number(number):
            forms.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    except phonenumbers.NumberParseException:
        pass
    if digits:
        forms.append("+" + digits)
    return tuple(dict.fromkeys(forms)) or (value,)


def _phone(value: str) -> Match:
    return Match(values=phone_forms(value))


def _crypto(value: str) -> Match:
    address = value.strip()
    for scheme in PAYMENT_SCHEMES:
        if address.lower().startswith(scheme):
            address = address[len(scheme) :].split("?", 1)[0]
            break
    if address.endswith(("*", "…")):
        return Match(prefixes=(address.rstrip("*…"),))
    return Match(values=(address,))


def _site(value: str) -> Match:
    """A host matches itself and the same host on any port (the demo sites and local mirrors carry one)."""
    host = value.strip().lower().removeprefix("http://").removeprefix("https://").split("/", 1)[0]
    if ":" in host.rsplit("]", 1)[-1]:
        return Match(values=(host,))
    return Match(values=(host,), prefixes=(host + ":",))


def _triage(value: str) -> Match:
    return Match(values=(TRIAGE_SPELLINGS.get(value.strip().lower(), value),))


@lru_cache(maxsize=1)
def substance_synonyms() -> dict[str, str]:
    """Every one-word substance term of the lexicon (folded) -> its class: meth, fent, tranq, m30..."""
    from core.lexicon import load_lexicon

    lexicon = load_lexicon()
    words = {c.name: c.name for c in lexicon.categories if c.kind == "substance"}
    for key, (category, _term) in lexicon.ngrams.items():
        if len(key) == 1 and lexicon.kind(category) == "substance":
            words.setdefault(key[0], category)
    return words


def _substance(value: str) -> Match:
    from core.lexicon import fold_text

    word = value.strip().lower()
    return Match(values=(substance_synonyms().get(word) or substance_synonyms().get(fold_text(word)) or word,))


@lru_cache(maxsize=8)
def _platform_table(path: Path, mtime: float) -> dict[str, tuple[str, ...]]:
    """casefolded key/name/alias -> every spelling of that platform, from the takedown registry file.

    Only the three naming fields are read: the takedown stage validates the file (index_config
    may not import it), and a file it cannot read leaves platform values matched as typed.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = [p for p in raw.get("platforms") or [] if isinstance(p, dict)]
    except (OSError, yaml.YAMLError, AttributeError):
        return {}
    table: dict[str, tuple[str, ...]] = {}
    for entry in entries:
        names = [str(n) for n in (entry.get("key"), entry.get("name"), *(entry.get("aliases") or [])) if n]
        for name in names:
            table.setdefault(name.casefold(), tuple(names))
    return table


def platform_table(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    return _platform_table(path, mtime)


def platform_match(value: str, table: dict[str, tuple[str, ...]]) -> Match:
    return Match(values=table.get(value.strip().casefold(), (value.strip(),)))


Normaliser = Callable[[str], Match]
# field name in the query box -> how its value is read (fields not listed: the value as typed)
NORMALISERS: dict[str, Normaliser] = {
    "telegram": _handle,
    "telegram_bot": _handle,
    "handle": _handle,
    "venmo": _handle,
    "paypal": _handle,
    "cashtag": _cashtag,
    "wickr": _handle,
    "signal": _handle,
    "snapchat": _handle,
    "whatsapp": _phone,
    "phone": _phone,
    "crypto": _crypto,
    "site": _site,
    "triage": _triage,
    "substance": _substance,
}
