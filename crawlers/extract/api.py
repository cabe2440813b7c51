"""Listing fields from a site's own JSON API (a source's `api:` block), read with JMESPath.

Single-page shops fetch every card and item from a JSON endpoint; reading that endpoint gives
each field exactly, in one small request per item, where the HTML is only a shell. The
expressions are the same JMESPath that Scrapy's ``response.jmespath()`` uses. Prices may come in
the currency's minor unit (cents), which ISO 4217 exponents turn into amounts.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from urllib.parse import quote

import jmespath
from jmespath.parser import ParsedResult

from crawlers.extract.entities import ParsedPrice, parse_price
from crawlers.extract.fields import PageFields, clean, parse_datetime
from crawlers.sources import Api

# ISO 4217 currencies whose minor unit is not 1/100 (the rest, and unknown codes, use two decimals).
MINOR_UNIT_EXPONENT = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND"], 0),
    **dict.fromkeys(["VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
MAX_API_ITEMS = 1_000  # entries read from one list reply; a hostile endpoint cannot make a million requests


@cache
def compiled(expression: str) -> ParsedResult:
    """Compiled once per crawl (the source's expressions were already checked when it loaded)."""
    return jmespath.compile(expression)


def search(expression: str | None, data: Any) -> Any:
    return compiled(expression).search(data) if expression else None


def load_json(body: str) -> Any:
    """The reply's JSON, or None for a reply that is not JSON (an error page, a login wall)."""
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass
class ListPage:
    """One list reply: its entries (with their IDs) and where the next page is, if any."""

    entries: list[tuple[str, Any]]
    next_page: int | None = None
    next_cursor: str | None = None


def list_url(api: Api, page: int | None = None, cursor: str | None = None) -> str:
    """The list endpoint for a page number or a cursor (empty on the first request)."""
    if "{page}" in api.list_url:
        return api.list_url.replace("{page}", str(api.first_page if page is None else page))
    return api.list_url.replace("{cursor}", quote(cursor or "", safe=""))


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text or None


def read_list(api: Api, data: Any, page: int | None) -> ListPage:
    """Entries of a list reply and the next page: an empty page, a false `has_more` or no cursor ends the list."""
    raw = search(api.items, data)
    items = raw if isinstance(raw, list) else []
    entries = [(key, item) for item in items[:MAX_API_ITEMS] if (key := _id_text(search(api.id, item)))]
    result = ListPage(entries)
    if not items or (api.has_more is not None and not search(api.has_more, data)):
        return result
    if "{page}" in api.list_url:
        result.next_page = (api.first_page if page is None else page) + 1
    elif cursor := _id_text(search(api.next_cursor, data)):
        result.next_cursor = cursor
    return result


def fill(template: str, item_id: str) -> str:
    """A URL template with the item's ID in it, escaped so an ID cannot add a path, query or host."""
    return template.replace("{id}", quote(item_id, safe=""))


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if isinstance(v, str | int | float))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return clean(str(value))
    return None


def _price(api: Api, amount: Any, currency: Any) -> ParsedPrice | None:
    code = _text(currency)
    code = code.upper() if code and len(code) == 3 and code.isalpha() else None
    if isinstance(amount, str) and not code:
        return parse_price(amount)  # "$45.00": the symbol names the currency
    try:
        value = Decimal(str(amount).strip()) if isinstance(amount, str | int | float) else None
    except InvalidOperation:
        value = None
    if value is None or isinstance(amount, bool) or not value.is_finite():
        return None
    if api.price_minor_units:
        value = value.scaleb(-MINOR_UNIT_EXPONENT.get(code or "", 2))
    text = f"{amount} {code}" if code else str(amount)
    return ParsedPrice(float(value), code, text[:200])


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # milliseconds, as JavaScript dates give
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_datetime(value) if isinstance(value, str) else None


def _urls(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def api_fields(api: Api, item: Any) -> PageFields:
    """The listing fields of one item's JSON; each records ``api`` as the method that produced it."""
    wanted = api.fields
    fields = PageFields(
        title=_text(search(wanted.title, item)),
        description=_text(search(wanted.description, item)),
        price=_price(api, search(wanted.price, item), search(wanted.currency, item)) if wanted.price else None,
        seller=_text(search(wanted.seller, item)),
        seller_url=_text(search(wanted.seller_url, item)),
        posted_at=_datetime(search(wanted.posted_at, item)),
        images=_urls(search(wanted.images, item)),
    )
    fields.methods = {
        name: "api"
        for name in ("title", "description", "price", "seller", "seller_url", "posted_at", "images")
        if getattr(fields, name)
    }
    return fields
