"""Substances grounded in the text: a named product sets its class; slang, comparisons and warnings do not."""

import pytest

from core.errors import ConfigError
from core.grounding import harm_reduction_product, offered_substances, street_pill_offer, substances_for
from core.lexicon import compile_lexicon, load_lexicon


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Fentanyl powder 10g — pure, 98%, ships worldwide, BTC only", ["fentanyl"]),
        ("Protonitazene 5g — research chemical, not for human consumption, wickr: rcshop", ["nitazene"]),
        ("M30 blues 100 for 900, fast shipping", ["counterfeit_pill"]),
        ("Pressed M30s available — blues 100ct $900, discreet shipping", ["counterfeit_pill"]),
        ("NPP (N-phenethyl-4-piperidone) 50kg", ["precursor"]),
        ("Norfentanyl precursor 5kg", ["precursor"]),
        ("Isotonitazene powder 1g", ["nitazene"]),
        ("f3nt@nyl 5g", ["fentanyl"]),  # disguised names still name the product
        ("Crystal meth 7g", ["methamphetamine"]),
        ("200 pieces of A215 Roxicodone pressed with 1MG fentanyl", ["fentanyl", "counterfeit_pill"]),
        ("Opana - Oxymorphone 10mg IR", ["counterfeit_pill"]),  # a pharma opioid pill: what fakes imitate
    ],
)
def test_a_named_product_sets_its_class(title: str, expected: list[str], lexicon) -> None:
    assert offered_substances({"title": title}, lexicon) == expected


@pytest.mark.parametrize(
    "title",
    [
        "ice 7g",  # slang: the heads decide, in context
        "Blue crystal rock candy 100g",
        "blues 100ct",
        "snow 3.5",
        "Tiras reactivas de fentanilo gratis",
        "Fentanyl test strips, free kits",
        "fentanyl-free, lab tested",
        "Vitamin C 1000mg tablets",
    ],
)
def test_slang_and_warnings_name_no_product(title: str, lexicon) -> None:
    assert offered_substances({"title": title}, lexicon) == []


def test_comparisons_and_warnings_do_not_add_a_class(lexicon) -> None:
    assert offered_substances({"title": "isotonitazene (stronger than fent) - 500 GRAMS"}, lexicon) == ["nitazene"]
    assert offered_substances({"title": "500mg Isotonitazene (like Fentanyl)"}, lexicon) == ["nitazene"]
    assert offered_substances({"title": "Fake M30 pills laced with fentanyl"}, lexicon) == ["counterfeit_pill"]
    assert offered_substances({"title": "Heroin #4, no fent"}, lexicon) == ["other_drug"]


def test_the_title_names_the_product_before_a_menu_in_the_description(lexicon) -> None:
    fields = {"title": "XANAX 2MG ALPRAZOLAM", "description": "We also have Fentanyl, Morphine, Methadone"}
    assert offered_substances(fields, lexicon) == ["counterfeit_pill"]
    assert offered_substances({"title": "Menu", "description": fields["description"]}, lexicon) == [
        "fentanyl",
        "counterfeit_pill",
    ]
    assert offered_substances({"title": "x", "seller": "fentyplug"}, lexicon) == []  # a handle names no product


def test_names_win_over_the_heads_and_the_heads_decide_slang(lexicon) -> None:
    assert substances_for({"title": "Fentanyl powder 10g"}, lexicon, ["other_drug"]) == (["fentanyl"], "text")
    assert substances_for({"title": "ice 7g, tele @x"}, lexicon, ["methamphetamine"]) == (
        ["methamphetamine"],
        "heads",
    )


def test_an_ambiguous_entry_must_be_one_of_the_category_terms() -> None:
    raw = {
        "categories": {
            name: {"kind": "substance", "terms": [name]}
            for name in ("fentanyl", "nitazene", "counterfeit_pill", "methamphetamine", "xylazine", "precursor")
        }
    }
    raw["categories"]["other_drug"] = {"kind": "substance", "terms": ["coke"], "ambiguous": ["snow"]}
    with pytest.raises(ConfigError, match="ambiguous term 'snow' of other_drug"):
        compile_lexicon(raw)


@pytest.mark.parametrize(
    "title",
    [
        "M30 blues x100 @ $8, overnight",
        "pressed m30s 50ct $450 tracked shipping",
        "pastillas m30 100 por 900, envío rápido",
        "Xanax bars 100 for 200",
        "a215 30mg, 20 for $300",
    ],
)
def test_a_pill_name_and_a_count_for_a_price_is_a_street_pill_offer(title: str, lexicon) -> None:
    assert street_pill_offer({"title": title}, lexicon)


@pytest.mark.parametrize(
    "title",
    [
        "M30 bolts 100 for $90, fast shipping",  # hardware sold by the same name
        "M30 hex nuts stainless 50ct $25",
        "tornillos M30 100 por 900",
        "Police seize 4,000 fake M30 pills worth $40,000",  # a report quoting a count and a price
        "Blues going around tested positive: 100 for $900 batch",
        "Fake M30 test strips 100 for $20",  # the name only mentioned
        "blues 100 for 900",  # slang alone: the heads decide
        "Oxycodone 30mg 100 tablets",  # a count, no price
        "Percocet 5 mg x 20 comprimidos",
        "Ibuprofen 200mg 100 tablets — pain reliever / fever reducer",
    ],
)
def test_hardware_reports_mentions_and_plain_packs_are_not(title: str, lexicon) -> None:
    assert not street_pill_offer({"title": title}, lexicon)


def test_only_the_title_is_read_for_a_street_pill_offer(lexicon) -> None:
    # a vendor menu in the description ("M30 100 for 900, ...") is the heads' to read, with the title
    assert not street_pill_offer({"title": "Menu", "description": "M30 100 for 900"}, lexicon)


@pytest.mark.parametrize(
    "title",
    [
        "Naloxone (Narcan) nasal spray 4mg — licensed pharmacy",
        "Kloxxado 8 mg nasal spray, 2 pack",
        "Fentanyl test strips 100 pack, free shipping",
        "Tiras reactivas de fentanilo x 50",
        "Naloxona 0.4 mg/ml ampolla inyectable",
    ],
)
def test_an_antidote_or_test_strips_with_no_drug_offered_is_harm_reduction(title: str, lexicon) -> None:
    assert harm_reduction_product({"title": title}, lexicon)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "M30 blues 100 for 900, free Narcan with every order"},  # a drug named as the product
        {"title": "Fentanyl powder 10g, narcan included"},
        {"title": "Test strips in stock", "description": "Also selling pure fentanyl 5g, BTC only"},
        {"title": "Vitamin C 1000mg tablets"},  # not a harm-reduction product at all
    ],
)
def test_a_drug_named_as_the_product_keeps_the_listing_an_offer(fields: dict[str, str], lexicon) -> None:
    assert not harm_reduction_product(fields, lexicon)
