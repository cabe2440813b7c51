"""The one text the model reads for a listing, built the same way in training, evaluation and serving.

A real market title ("10 GR. CRYSTAL METH") carries no sale words: what makes it an offer is
where it sits (a product page on a market, with a price, a quantity and a seller). A news page
or a factsheet naming the same drug is not an offer. So the model reads a short context line
before the fields, written in plain words the tokenizer knows::

    context: market listing; price; quantity; seller
    <title>
    <description>
    <seller>

Text read from the listing's photos (menus, price lists posted as pictures) follows the context line as
``photo text: ...`` (capped at `MAX_PHOTO_CHARS`), before the fields: like the context line it is read but
never occluded for explanations, whose spans index into the fields only.

Facts that are unknown are left out rather than guessed, and training drops the source kind from
a share of rows, so listings that arrive without context are still read on their words alone.
Models trained before the context line (``meta.input_format == "fields"``) get the fields only.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from core.schema import Listing, SourceKind

FIELDS = ("title", "description", "seller")
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
InputFormat = Literal["fields", "context-v1"]
CURRENT_FORMAT: InputFormat = "context-v1"
MAX_PHOTO_CHARS = 300

_QUANTITY = re.compile(
    r"(?<![a-z0-9])\d+(?:[.,/]\d+)?\s?(?:mg|mcg|ug|µg|g|gr|grs|grams?|gramos|kg|kilos?|oz|ounces?|lbs?|pounds?"
    r"|ml|pills?|tabs?|tablets?|caps?|capsules?|pcs|pieces|blotters?|patch(?:es)?|bars?|x)(?![a-z])"
    r"|(?<![a-z0-9])x\s?\d+(?![0-9])|\b(?:half|quarter|one|1/2|1/4|1/8)\s?(?:oz|ounce|pound|lb|kilo|g)\b",
    re.IGNORECASE,
)
_PRICE = re.compile(
    r"(?:[$€£]|usd|eur|gbp|btc|xmr)\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?(?:[$€£]|usd|eur|gbp|btc|xmr|dlls|pesos)(?![a-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ListingInput:
    """What the classifier knows about one listing: its fields and the context it was found in."""

    title: str = ""
    description: str = ""
    seller: str = ""
    price: bool = False  # a price was extracted from the page (a price written in the text counts too)
    source_kind: str = "unknown"
    page_kind: str = "listing"
    photo_text: str = ""  # OCR of the listing's photos

    def fields(self) -> dict[str, str | None]:
        return {"title": self.title, "description": self.description, "seller": self.seller}

    @classmethod
    def from_listing(cls, listing: Listing) -> "ListingInput":
        return cls(
            title=listing.title or "",
            description=listing.description or "",
            seller=listing.seller.name or "",
            price=listing.price is not None or bool(listing.price_text),
            source_kind=listing.source_kind or "unknown",
            page_kind=listing.page_kind,
            photo_text="\n".join(p.text for p in listing.photos if p.text),
        )

    @classmethod
    def from_mapping(cls, row: Mapping) -> "ListingInput":
        """From a labelled JSONL row or a corpus record; `seller` may be a name or a `Listing`-style object."""
        seller = row.get("seller") or ""
        if isinstance(seller, Mapping):
            seller = seller.get("name") or ""
        kind = str(row.get("source_kind") or "unknown")
        return cls(
            title=str(row.get("title") or ""),
            description=str(row.get("description") or ""),
            seller=str(seller),
            price=bool(row.get("price") not in (None, "", False) or row.get("price_text")),
            source_kind=kind if kind in SOURCE_KINDS else "unknown",
            page_kind=str(row.get("page_kind") or "listing"),
            photo_text="\n".join(
                str(p["text"]) for p in row.get("photos") or [] if isinstance(p, Mapping) and p.get("text")
            ),
        )


def context_line(item: ListingInput) -> str:
    """The listing's context in plain words; only what is known is said."""
    text = f"{item.title}\n{item.description}\n{item.photo_text}"
    facts = []
    place = "" if item.source_kind == "unknown" else item.source_kind
    page = "listing" if item.page_kind == "listing" else item.page_kind.replace("_", " ")
    facts.append(f"{place} {page}".strip())
    if item.price or _PRICE.search(text):
        facts.append("price")
    if _QUANTITY.search(text):
        facts.append("quantity")
    if item.seller:
        facts.append("seller")
    return "context: " + "; ".join(facts)


def model_text(item: ListingInput, input_format: InputFormat = CURRENT_FORMAT) -> tuple[str, list[tuple[str, int]]]:
    """The text the network reads, plus where each non-empty field starts in it (for explanation spans)."""
    parts: list[str] = []
    starts: list[tuple[str, int]] = []
    pos = 0
    if input_format == "context-v1":
        line = context_line(item)
        parts.append(line)
        pos = len(line) + 1
        if photo := " ".join(item.photo_text.split())[:MAX_PHOTO_CHARS]:
            parts.append(f"photo text: {photo}")
            pos += len(parts[-1]) + 1
    for name, value in zip(FIELDS, (item.title, item.description, item.seller), strict=True):
        if value:
            starts.append((name, pos))
            parts.append(value)
            pos += len(value) + 1
    return "\n".join(parts), starts
