"""Contacts, prices and shipping phrases from listing text (pure functions)."""

import pytest

from crawlers.extract.entities import extract_entities, find_emails, find_price, find_shipping, parse_price


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("tg: @PlugMaster99 for menu", "telegram", ["plugmaster99"]),
        ("Telegram ➜ @fast_shop", "telegram", ["fast_shop"]),
        ("order at t.me/BlueKid_420", "telegram", ["bluekid_420"]),
        ("TG only, no calls", "telegram", []),
        ("wickr me: xanman", "wickr", ["xanman"]),
        ("Wickr: dark.star77", "wickr", ["dark.star77"]),
        ("snap: blue.kid", "snapchat", ["blue.kid"]),
        ("👻 ghostplug", "snapchat", ["ghostplug"]),
        ("Signal: plug.42", "signal", ["plug.42"]),
        ("signal +1 415 555 2671", "signal", ["+14155552671"]),
        ("WhatsApp (212) 555-2671", "whatsapp", ["+12125552671"]),
        ("wa.me/14155552671", "whatsapp", ["+14155552671"]),
        ("call 602-555-0147 anytime", "phone", ["+16025550147"]),
        ("order #20261123 qty 5", "phone", []),
        ("ghost [at] protonmail [dot] com", "email", ["ghost@protonmail.com"]),
        ("Mail: Sales@Example.ORG.", "email", ["sales@example.org"]),
    ],
)
def test_contacts(text: str, field: str, expected: list[str]) -> None:
    assert getattr(extract_entities(text), field) == expected


def test_whatsapp_number_is_not_also_a_plain_phone() -> None:
    found = extract_entities("WhatsApp (212) 555-2671")
    assert found.phone == []


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("$25 each, 10 for $200", 25.0, "USD"),
        ("Precio: 35 € por unidad", 35.0, "EUR"),
        ("only 1,200.50 USD", 1200.5, "USD"),
        ("£40 shipped", 40.0, "GBP"),
    ],
)
def test_find_price(text: str, amount: float, currency: str) -> None:
    price = find_price(text)
    assert price is not None
    assert (price.amount, price.currency) == (amount, currency)


@pytest.mark.parametrize("text", ["10 pills, 2g, 28g", "call 555 0100", "Free to a good home"])
def test_no_price_without_currency(text: str) -> None:
    assert find_price(text) is None


def test_parse_price_field() -> None:
    price = parse_price("US$ 1,234.56")
    assert price is not None and (price.amount, price.currency) == (1234.56, "USD")
    free = parse_price("Free")
    assert free is not None and free.amount == 0.0
    assert parse_price(None) is None


@pytest.mark.parametrize(
    ("text", "origins", "destinations"),
    [
        ("Ships from Canada, worldwide shipping.", ["Canada"], ["worldwide"]),
        ("Shipping from Netherlands to EU/US", ["Netherlands"], ["EU"]),
        ("Envío desde España, discreto.", ["España"], []),
        ("we ship to the United Kingdom only", [], ["United Kingdom"]),
        ("Selling because we're moving.", [], []),
    ],
)
def test_shipping(text: str, origins: list[str], destinations: list[str]) -> None:
    assert find_shipping(text) == (origins, destinations)


def test_emails_ignore_handles() -> None:
    assert find_emails("tg @plug and @snap") == []
