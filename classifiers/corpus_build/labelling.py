"""Label rules: a market category path, a title rule, the synthetic classes a title names outright."""

import re

from core.labels import SUBSTANCES
from core.lexicon import load_lexicon, match_text


def keyword_substances(title: str, spec: dict) -> set[str]:
    """Synthetic classes named outright in a title; refines a coarse market category."""
    low = title.lower()
    out = set()
    for name, words in (spec.get("title_keywords") or DEFAULT_TITLE_KEYWORDS).items():
        for w in words:
            for match in re.finditer(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z])", low):
                if not _COMPARED.search(low[: match.start()]):  # "isotonitazene (stronger than fent)"
                    out.add(name)
    return out


def offer_substances(category: set[str], title: str, spec: dict) -> set[str]:
    """An offer's substances: its category's plus those its title names; "other_drug" only when nothing else is."""
    subs = category | keyword_substances(title, spec)
    if len(subs) > 1:
        subs.discard("other_drug")
    return subs


_COMPARED = re.compile(r"(?:\bthan|\blike|\bsimilar to|\balternative to|\binstead of)\s*$")


DEFAULT_TITLE_KEYWORDS = {
    "fentanyl": ["fentanyl", "fentanil", "fent", "carfentanil", "acetylfentanyl", "furanylfentanyl"],
    "nitazene": ["nitazene", "isotonitazene", "protonitazene", "metonitazene", "etonitazene"],
    "methamphetamine": ["meth", "methamphetamine", "crystal meth", "ice shards", "d-meth"],
}


_GENERIC_METH = frozenset({"crystal", "crystals", "ice", "glass", "shard", "shards", "speed", "cristal"})
# Street words that are also ordinary words: on their own, next to other goods, they do not name a drug.


_GENERIC = _GENERIC_METH | {"bars", "bar", "blues", "press", "pressed", "snow", "gas", "dope", "acid", "pack", "tabs"}


def any_word(text: str, words: list[str]) -> bool:
    low = text.lower()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", low) for w in words)


def rule_label(title: str, rule: dict) -> tuple[int, set[str], str] | None:
    """Label a market title without a category: an offer if it names a drug, not one if it names other goods.

    Only for sources without a category tree. The rule reads the title alone (descriptions list
    everything a vendor stocks). Titles it cannot decide return None and are left out.
    """
    if any_word(title, rule.get("excluded_keywords") or []):
        return None  # goods outside the project's scope either way (steroids, erectile-dysfunction pills, CBD)
    hits = [h for h in match_text(title, load_lexicon(), "title") if h.category in SUBSTANCES]
    classes = {h.category for h in hits}
    meth_terms = {h.term.lower() for h in hits if h.category == "methamphetamine"}
    if classes - {"methamphetamine"} and meth_terms and meth_terms <= _GENERIC_METH:
        classes.discard("methamphetamine")  # "MDMA crystals", "ketamine shards": the crystal is not meth
    generic_only = all(h.term.lower() in _GENERIC for h in hits)
    if (not classes or generic_only) and any_word(title, rule.get("not_sale_keywords") or []):
        return 0, set(), "title rule: other goods named, no drug"
    if classes:
        if len(classes) > 1:
            classes.discard("other_drug")
        return 1, classes, "title rule: controlled-drug name in title"
    if any_word(title, rule.get("sale_keywords") or []):
        return 1, {"other_drug"}, "title rule: drug keyword in title"
    return None


def category_label(key: str, spec: dict) -> tuple[int, set[str]] | None:
    """Label for a market category path by the most specific entry of `categories` (offers, with their classes),
    `negative_categories` (other goods: sale 0) or `excluded` (ambiguous: None); a path no entry covers is None."""
    best: tuple[int, int, set[str] | None] | None = None  # (prefix length, sale, classes)
    entries = [(k, 1, set(v)) for k, v in (spec.get("categories") or {}).items()]
    entries += [(k, 0, set()) for k in spec.get("negative_categories") or []]
    entries += [(k, -1, None) for k in spec.get("excluded") or []]
    for prefix, sale, subs in entries:
        covers = key == prefix or key.startswith(prefix + "/")
        if covers and (best is None or len(prefix) > best[0]):
            best = (len(prefix), sale, subs)
    if best is None or best[1] < 0:
        return None
    return best[1], set(best[2] or ())
