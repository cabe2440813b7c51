"""One labelled real text, as the build writes it, and the small helpers every parser shares."""

import hashlib
import html
import re
from dataclasses import dataclass

_JUNK = re.compile(r"[^\x20-\x7e\u00a0-\u024f\u2018-\u201d€£]+")  # mojibake of emoji in the market dump
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RealRow:
    """One labelled real text, as written to the corpus JSONL.

    `lookalike` names the kind of look-alike a non-offer is (pharmacy, lab_chemical, factsheet,
    news, forum, market_non_drug, ordinary_goods...), so evaluation can report a false-positive
    rate per kind; offers carry "".
    """

    id: str
    origin: str  # source name in real_sources.yaml
    source_kind: str
    title: str
    description: str
    seller: str
    price: bool
    sale: int
    substances: list[str]
    group: str
    label_method: str
    lang: str = "en"
    lookalike: str = ""


def clean(text: str) -> str:
    return _SPACES.sub(" ", _JUNK.sub(" ", html.unescape(text or ""))).strip()


def row_id(origin: str, *parts: str) -> str:
    return hashlib.sha256("\x1f".join((origin, *parts)).encode()).hexdigest()[:16]


Label = tuple[int, set[str], str]  # (sale, substances, label method)


def source_row(
    name: str,
    spec: dict,
    title: str,
    description: str,
    seller: str,
    *,
    price: bool,
    label: Label,
    group: str | None = None,
    key: tuple[str, ...] | None = None,
) -> RealRow:
    """A text read from source `name`: kind and language from its spec, identified by (source, title, seller)
    unless `key` gives other parts, grouped by `group`, else by seller, else by title."""
    sale, substances, method = label
    return RealRow(
        id=row_id(name, *(key or (title, seller))),
        origin=name,
        source_kind=spec["source_kind"],
        title=title,
        description=description,
        seller=seller,
        price=price,
        sale=sale,
        substances=sorted(substances),
        group=group or seller or title,
        label_method=method,
        lang=spec.get("lang", "en"),
    )


def not_offer(name: str, spec: dict, title: str, description: str, group: str) -> RealRow:
    """A look-alike text with no seller or price (an article section, a catalogue entry): never an offer."""
    label = (0, set(), spec["label_method"])
    return source_row(name, spec, title, description[:1200], "", price=False, label=label, group=group, key=(title,))


def cell(rec: dict, col: str | None) -> str:
    return clean(str(rec.get(col) or "")) if col else ""


def has_price(value: str) -> bool:
    return bool(re.search(r"\d", value or ""))
