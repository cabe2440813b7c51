"""Lexicon matching: disguised terms are found and every span points at the original text."""

import pytest

from core.errors import ConfigError
from core.labels import SUBSTANCES
from core.lexicon import compile_lexicon, fold, load_lexicon, match_fields, match_text


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def categories(text: str, lexicon) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for h in match_text(text, lexicon):
        out.setdefault(h.category, set()).add(h.term)
    return out


@pytest.mark.parametrize(
    ("text", "term", "category"),
    [
        ("pressed f e n t available", "f e n t", "fentanyl"),
        ("got f3nt today", "f3nt", "fentanyl"),
        ("fent@nyl for you", "fent@nyl", "fentanyl"),
        ("F.E.N.T 🔥", "F.E.N.T", "fentanyl"),
        ("m-3-0 blues", "m-3-0", "counterfeit_pill"),
        ("real M30s", "M30s", "counterfeit_pill"),
        ("fentanilo en polvo", "fentanilo", "fentanyl"),
        ("Xylаzine bulk", "Xylаzine", "xylazine"),  # Cyrillic 'а'
        ("fen\u200btanyl", "fen\u200btanyl", "fentanyl"),  # zero-width space
        ("metanfetamina cristal", "metanfetamina", "methamphetamine"),
        ("1-Boc-4-piperidone CAS 79099-07-3", "79099-07-3", "precursor"),
        ("4-ANPP in stock", "4-ANPP", "precursor"),
        ("n1t4z3nes", "n1t4z3nes", "nitazene"),
        ("hit me on 🔌", "🔌", "sale"),
    ],
)
def test_disguised_terms_are_found_with_original_spans(text: str, term: str, category: str, lexicon) -> None:
    hits = [h for h in match_text(text, lexicon) if h.category == category]
    assert term in {h.term for h in hits}
    for h in hits:
        assert text[h.start : h.end] == h.term


def test_words_inside_other_words_do_not_match(lexicon) -> None:
    found = categories("Different entries for the fentanyl-free protocol of entanglement", lexicon)
    assert "fent" not in {t.lower() for t in found.get("fentanyl", set())}
    assert categories("The icebox and the iceberg", lexicon).get("methamphetamine") is None


def test_longest_term_wins_so_goods_read_as_goods(lexicon) -> None:
    found = categories("crystal glassware and snow boots", lexicon)
    assert found["licit_commerce"] == {"crystal glassware", "snow boots"}
    assert "methamphetamine" not in found and "other_drug" not in found


def test_fields_are_recorded_with_spans_relative_to_each_field(lexicon) -> None:
    fields = {"title": "M30 blues", "description": "DM for menu, BTC only", "seller": "fentyplug"}
    hits = match_fields(fields, lexicon)
    assert {h.field for h in hits} == {"title", "description"}
    for h in hits:
        assert fields[h.field][h.start : h.end] == h.term


def test_fold_keeps_a_map_to_original_characters() -> None:
    folded, index = fold("Fénта\u200b X")
    assert folded == "fenta x"
    assert index == [0, 1, 2, 3, 4, 6, 7]


def test_hostile_text_is_linear_and_safe(lexicon) -> None:
    text = ("a " * 20_000) + "fent " + ("💊" * 1000) + ("x" * 50_000)
    hits = match_text(text, lexicon)
    assert any(h.term == "fent" for h in hits)
    assert match_text("", lexicon) == []


def test_malformed_lexicon_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="lacks substance categories"):
        compile_lexicon({"categories": {"sale": {"kind": "sale", "terms": ["buy"]}}})
    with pytest.raises(ConfigError, match="not a valid regex"):
        compile_lexicon(
            {"categories": {name: {"kind": "substance", "terms": ["x"], "patterns": ["("]} for name in SUBSTANCES}}
        )
