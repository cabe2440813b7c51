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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WhatsApp/Wickr: +86 155 0000 1234", {"whatsapp": ["+8615500001234"], "wickr": ["+8615500001234"]}),
        ("telegram +86 18800000000", {"telegram": ["+8618800000000"]}),
        ("Signal or WA: +1 415 555 2671", {"signal": ["+14155552671"], "whatsapp": ["+14155552671"]}),
    ],
)
def test_a_phone_goes_under_the_messengers_it_names(text: str, expected: dict[str, list[str]]) -> None:
    found = extract_entities(text)
    for name in ("whatsapp", "wickr", "telegram", "signal"):
        assert getattr(found, name) == expected.get(name, []), name
    assert found.phone == found.phone_unverified == []


def test_an_international_number_in_an_unknown_range_is_kept_unverified() -> None:
    found = extract_entities("text me on +44 7700 900123 for the menu, or 602-555-0147")
    assert found.phone_unverified == ["+447700900123"]
    assert found.phone == ["+16025550147"]
    # Without a country code an unassigned-looking number is too weak a lead to keep.
    assert extract_entities("ref 555 0100 123").phone_unverified == []


def test_a_price_never_takes_the_trailing_comma() -> None:
    price = find_price("Selling for $120, pickup only")
    assert price is not None and (price.amount, price.text) == (120.0, "$120")


def test_no_price_from_the_text_when_the_page_shows_none() -> None:
    from core.schema import Listing
    from crawlers.pipelines import enrich

    text = "Selling for $120, pickup only"
    base = {"url": "http://x.test/1", "source": "s", "platform": "p", "description": text}
    # The source has a price field and the page had no price there: the text's "$120," is not the price.
    assert enrich(Listing(**base, extraction={"price": "not_on_page"})).price is None
    # A source with no price field (forum posts) still takes it from the text.
    assert enrich(Listing(**base)).price == 120.0
