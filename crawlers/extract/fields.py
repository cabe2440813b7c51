"""Listing fields from one HTML page: configured selectors first, then schema.org JSON-LD, then main text.

Selectors are the precise path for sites someone configured; JSON-LD Product/Offer covers
shops that publish structured data; trafilatura's main-text extraction is the last resort so
a site with no selectors and no structured data still yields a usable description. Each
value records which method produced it, so evaluation and analysts can tell them apart.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dateparser
import extruct
import trafilatura
from dateparser.search import search_dates
from parsel import Selector

from crawlers.extract.entities import ParsedPrice, parse_price
from crawlers.sources import FieldSelectors

_WS = re.compile(r"\s+")
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
DATE_LANGUAGES = ["en", "es"]  # the languages of the sites crawled; naming them keeps dateparser fast
_DATEPARSER: dict[str, Any] = {
    "TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TO_TIMEZONE": "UTC",
    "PREFER_DATES_FROM": "past",
}
_JSONLD_HINT = "application/ld+json"


@dataclass
class PageFields:
    title: str | None = None
    description: str | None = None
    price: ParsedPrice | None = None
    seller: str | None = None
    seller_url: str | None = None
    posted_at: datetime | None = None
    images: list[str] = field(default_factory=list)
    language: str | None = None
    methods: dict[str, str] = field(default_factory=dict)


def clean(text: str | None) -> str | None:
    """Collapse whitespace; empty means absent."""
    if text is None:
        return None
    text = _WS.sub(" ", text).strip()
    return text or None


def select_all(sel: Selector, selector: str) -> list[str]:
    """Values for a configured selector; an element selector yields the element's whole text."""
    nodes = sel.xpath(selector.removeprefix("xpath:")) if selector.startswith("xpath:") else sel.css(selector)
    values: list[str] = []
    for node in nodes:
        raw = node.get() if isinstance(node.root, str) else " ".join(node.xpath(".//text()").getall())
        if value := clean(raw):
            values.append(value)
    return values


def _image_url(value: str) -> str:
    """An image selector may pick a CSS style (channel previews draw photos as ``background-image:url('…')``)."""
    found = _CSS_URL.search(value)
    return found.group(1) if found else value


def select_text(sel: Selector, selector: str | None, joiner: str = " ") -> str | None:
    return clean(joiner.join(select_all(sel, selector))) if selector else None


def parse_datetime(text: str | None) -> datetime | None:
    """ISO first (cheap, unambiguous), then dateparser for "12 Oct 2026, 09:14" / "hace 3 días"."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        parsed = dateparser.parse(text, languages=DATE_LANGUAGES, settings=_DATEPARSER)
        if parsed is None:  # a date inside words ("Posted 12 Oct 2026, 09:14"): slower search
            found = search_dates(text, languages=DATE_LANGUAGES, settings=_DATEPARSER)
            parsed = found[0][1] if found else None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return clean(str(value.get("name") or "")) or None
    return clean(str(value)) if value else None


def jsonld_product(html: str, url: str) -> dict[str, Any] | None:
    """The first schema.org Product (or Offer) in the page's JSON-LD, or None."""
    if _JSONLD_HINT not in html:
        return None
    try:
        data = extruct.extract(html, base_url=url, syntaxes=["json-ld"], uniform=True)
    except ValueError:
        return None
    stack: list[Any] = list(data.get("json-ld", []))
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if "Product" in kinds or "Offer" in kinds:
                return node
            stack.extend(node.get("@graph", []))
        elif isinstance(node, list):
            stack.extend(node)
    return None


def _apply_jsonld(out: PageFields, product: dict[str, Any]) -> None:
    offer = _first(product.get("offers")) if product.get("@type") != "Offer" else product
    offer = offer if isinstance(offer, dict) else {}
    candidates: dict[str, Any] = {
        "title": clean(product.get("name")),
        "description": clean(product.get("description")),
        "seller": _name(offer.get("seller") or product.get("brand")),
        "posted_at": parse_datetime(offer.get("validFrom") or product.get("releaseDate")),
    }
    for name, value in candidates.items():
        if getattr(out, name) is None and value is not None:
            setattr(out, name, value)
            out.methods[name] = "jsonld"
    if out.price is None and offer.get("price") is not None:
        text = f"{offer.get('price')} {offer.get('priceCurrency') or ''}".strip()
        out.price = parse_price(text)
        if out.price is not None:
            out.methods["price"] = "jsonld"
    if not out.images and product.get("image"):
        images = product["image"] if isinstance(product["image"], list) else [product["image"]]
        out.images = [str(_first(i.get("url")) if isinstance(i, dict) else i) for i in images][:50]
        out.methods["images"] = "jsonld"


def _apply_text(out: PageFields, html: str, sel: Selector) -> None:
    if out.description is None:
        text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
        if text := clean(text):
            out.description = text
            out.methods["description"] = "text"
    if out.title is None:
        title = clean(" ".join(sel.css("h1 ::text").getall())) or clean(sel.css("title::text").get())
        if title:
            out.title = title
            out.methods["title"] = "text"


def extract_fields(html: str, url: str, selectors: FieldSelectors) -> PageFields:
    """All listing fields from one page, each tagged with the method that produced it."""
    sel = Selector(text=html, base_url=url)
    out = PageFields(language=clean(sel.xpath("/html/@lang").get()))
    out.title = select_text(sel, selectors.title)
    out.description = select_text(sel, selectors.description, joiner="\n")
    out.seller = select_text(sel, selectors.seller)
    out.seller_url = select_text(sel, selectors.seller_url)
    out.price = parse_price(select_text(sel, selectors.price))
    out.posted_at = parse_datetime(select_text(sel, selectors.posted_at))
    if selectors.images:
        out.images = list(dict.fromkeys(_image_url(v) for v in select_all(sel, selectors.images)))[:50]
    for name in ("title", "description", "seller", "seller_url", "price", "posted_at", "images"):
        if getattr(out, name):
            out.methods[name] = "selector"
    if (out.title is None or out.description is None or out.price is None) and (product := jsonld_product(html, url)):
        _apply_jsonld(out, product)
    _apply_text(out, html, sel)
    return out
