"""Lexicon matching that survives the ways sellers disguise words.

Sellers write "f e n t", "f3nt", "fent@nyl", "M-30" and mix Cyrillic look-alikes into
Latin words to slip past keyword filters. Matching therefore runs on a folded copy of
the text (lowercase, accents and invisible characters removed, homoglyphs mapped,
spaced-out letters joined) that keeps a map back to the original characters, so every
hit carries a span into the text the analyst sees. Terms are looked up as word n-grams
in a dictionary (fast, linear in the text) rather than as one huge regular expression.
"""

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from core.errors import ConfigError
from core.schema import LexiconHit

from .labels import SUBSTANCES

Field = str  # "title" | "description" | "seller"
DATA_DIR = Path(__file__).resolve().parent / "data"

_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_HOMOGLYPHS = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "т": "t", "к": "k", "м": "m", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "τ": "t",
}  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "8": "b"})
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "8": "b"})
_INNER_SEP = re.compile(r"(?<=[a-z])[\-_*·.](?=[a-z])")
_SPACED = re.compile(r"(?<![a-z0-9])[a-z0-9](?:[ .\-_*·'][a-z0-9]){2,}(?![a-z0-9])")
_TOKEN = re.compile(r"[a-z0-9]+(?:[@$][a-z0-9]+)*|[@$][a-z0-9]+")
_TERM_TOKEN = re.compile(r"[a-z0-9]+")
_HAS_DIGIT = re.compile(r"\d")
_HAS_ALPHA = re.compile(r"[a-z@$]")
_HAS_LETTER = re.compile(r"[a-z]")
_LEET_WORD = re.compile(r"[a-z0-9@$]+")


@dataclass(frozen=True)
class Category:
    name: str
    kind: str  # substance | sale | benign


@dataclass(frozen=True)
class Lexicon:
    """Compiled lexicon: word n-gram table, regex patterns and emoji per category."""

    version: int
    categories: tuple[Category, ...]
    ngrams: dict[tuple[str, ...], tuple[str, str]]  # words -> (category, term as written)
    first_words: frozenset[str]  # first word of every term, to skip most tokens with one set lookup
    words: frozenset[str]  # every word of every term: an n-gram can only match over these
    max_words: int
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    emoji: tuple[tuple[str, str], ...]
    # Substance terms that name a drug only in drug context ("ice", "blues", "iso"): matched and
    # counted like any term, but never enough to say which drug a listing offers (core.grounding).
    ambiguous: frozenset[tuple[str, ...]] = frozenset()
    weak_patterns: frozenset[str] = frozenset()  # pattern sources that likewise never ground a class

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    def kind(self, category: str) -> str:
        return next(c.kind for c in self.categories if c.name == category)


def fold(text: str, leet: bool = False) -> tuple[str, list[int]]:
    """Lowercase, strip accents/invisibles, map homoglyphs; return the folded text and its index map.

    With `leet`, a word that mixes letters with digits or `@`/`$` is also read as letters ("m3th" ->
    "meth", "fent@nyl" -> "fentanyl"): the search index stores text folded this way and the query
    is folded the same way, so each side meets the other. Lexicon matching leaves it off and tries
    both readings of such a word instead (`_variants`), since a term like "m30" must stay itself.
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        if ch.isascii():
            chars.append(ch.lower())
            index.append(i)
            continue
        base = _HOMOGLYPHS.get(ch.lower(), ch)
        for c in unicodedata.normalize("NFKD", base):
            if unicodedata.combining(c):
                continue
            for low in c.lower():
                chars.append(low)
                index.append(i)
    folded = "".join(chars)
    # Join letters spelled out one by one ("f e n t", "f.e.n.t"), then words split by an inner
    # hyphen or dot ("fe-ntanyl"), so they read as one word. Terms are folded the same way.
    for pattern, drop in ((_SPACED, _every_other), (_INNER_SEP, _whole)):
        if pattern.search(folded):
            keep = [True] * len(folded)
            for m in pattern.finditer(folded):
                for j in drop(m):
                    keep[j] = False
            folded = "".join(c for c, k in zip(folded, keep, strict=True) if k)
            index = [i for i, k in zip(index, keep, strict=True) if k]
    if leet:
        folded = _LEET_WORD.sub(_deleet, folded)  # one character for one: the index map still holds
    return folded, index


def fold_text(text: str) -> str:
    """The search form of a text: `fold` with leetspeak, what the index stores beside the original."""
    return fold(text, leet=True)[0]


def _deleet(m: re.Match[str]) -> str:
    word = m.group()
    core = word.strip("@$")
    if not core or not _HAS_LETTER.search(core) or not (_HAS_DIGIT.search(core) or "@" in core or "$" in core):
        return word
    start = word.index(core)
    return word[:start] + core.translate(_LEET) + word[start + len(core) :]


def _every_other(m: re.Match[str]) -> range:
    return range(m.start() + 1, m.end(), 2)


def _whole(m: re.Match[str]) -> range:
    return range(m.start(), m.end())


def _term_key(term: str) -> tuple[str, ...]:
    folded, _ = fold(term)
    return tuple(_TERM_TOKEN.findall(folded))


@lru_cache(maxsize=65536)
def _variants(word: str) -> tuple[str, ...]:
    """Readings of one token: as written and, when it mixes letters with digits/symbols, de-leeted."""
    if (_HAS_DIGIT.search(word) or "@" in word or "$" in word) and _HAS_ALPHA.search(word):
        a, b = word.translate(_LEET), word.translate(_LEET_L)
        return (word, a) if a == b else (word, a, b)
    return (word,)


def compile_lexicon(raw: dict) -> Lexicon:
    """Build the lookup structures from the YAML document; reject malformed entries with a clear error."""
    try:
        cats = raw["categories"]
        categories = tuple(Category(name, spec["kind"]) for name, spec in cats.items())
    except (KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"Lexicon is malformed ({err!r}); each category needs `kind` and `terms`.") from None
    missing = set(SUBSTANCES) - {c.name for c in categories}
    if missing:
        raise ConfigError(f"Lexicon lacks substance categories {sorted(missing)}; add them to lexicon.yaml.")
    ngrams: dict[tuple[str, ...], tuple[str, str]] = {}
    patterns: list[tuple[str, re.Pattern[str]]] = []
    emoji: list[tuple[str, str]] = []
    ambiguous: set[tuple[str, ...]] = set()
    weak: set[str] = set()
    problems: list[str] = []
    for name, spec in cats.items():
        keys = set()
        for term in spec.get("terms") or []:
            key = _term_key(str(term))
            if key:
                keys.add(key)
                ngrams.setdefault(key, (name, str(term)))  # first category listed wins on duplicates
        for term in spec.get("ambiguous") or []:
            if _term_key(str(term)) not in keys:
                problems.append(f"ambiguous term {term!r} of {name} is not one of its terms")
            ambiguous.add(_term_key(str(term)))
        for pat in [*(spec.get("patterns") or []), *(spec.get("weak_patterns") or [])]:
            try:
                patterns.append((name, re.compile(pat)))
            except re.error as err:
                problems.append(f"pattern {pat!r} in {name} is not a valid regex: {err}")
        weak.update(spec.get("weak_patterns") or [])
        emoji.extend((name, e) for e in spec.get("emoji") or [])
    if problems:
        raise ConfigError(f"Lexicon is malformed: {'; '.join(problems)}.")
    return Lexicon(
        version=int(raw.get("version", 0)),
        categories=categories,
        ngrams=ngrams,
        first_words=frozenset(k[0] for k in ngrams),
        words=frozenset(w for k in ngrams for w in k),
        max_words=max(len(k) for k in ngrams),
        patterns=tuple(patterns),
        emoji=tuple(emoji),
        ambiguous=frozenset(ambiguous),
        weak_patterns=frozenset(weak),
    )


def with_drug_names(raw: dict, names: dict) -> dict:
    """Add the generated drug-name dictionary (`drug_names.yaml`) after each class's hand-kept terms.

    Hand terms come first, so where both list a word the hand-kept category wins.
    """
    cats = raw["categories"]
    for cls, terms in (names.get("classes") or {}).items():
        if cls in cats:
            cats[cls]["terms"] = [*(cats[cls].get("terms") or []), *terms]
    return raw


@lru_cache(maxsize=4)
def load_lexicon(path: Path | None = None) -> Lexicon:
    """The packaged lexicon with the generated drug names (or the one file at `path`), compiled once per process."""
    if path is None:
        text = (DATA_DIR / "lexicon.yaml").read_text(encoding="utf-8")
        names = yaml.safe_load((DATA_DIR / "drug_names.yaml").read_text(encoding="utf-8"))
        return compile_lexicon(with_drug_names(yaml.safe_load(text), names))
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"Cannot read lexicon {path}: {err.strerror}; check the path.") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"Lexicon {path or 'lexicon.yaml'} is not valid YAML: {err}.") from None
    return compile_lexicon(raw)


@dataclass(frozen=True)
class Match:
    """One lexicon hit with what it matched: the lexicon's own term (or pattern) and whether it can name a drug."""

    category: str
    start: int
    end: int
    grounds: bool  # a term or pattern that names its class on its own (not slang, not an emoji)


def find_matches(text: str, lexicon: Lexicon) -> list[Match]:
    """All lexicon matches in one text, longest term first at each position, spans into the original text."""
    if not text:
        return []
    folded, index = fold(text)
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]
    found: list[Match] = []

    def span(start: int, end: int) -> tuple[int, int]:
        return index[start], index[end - 1] + 1

    readings = [(*_variants(t[0]), t[0][:-1]) for t in tokens]
    known = [any(r in lexicon.words for r in rs) for rs in readings]
    i = 0
    while i < len(tokens):
        if not any(v in lexicon.first_words for v in readings[i]):
            i += 1
            continue
        reach = 1
        while reach < lexicon.max_words and i + reach < len(tokens) and known[i + reach]:
            reach += 1
        matched = 0
        for n in range(reach, 0, -1):
            words = [t[0] for t in tokens[i : i + n]]
            hit = _lookup(words, lexicon)
            if hit:
                cat, term = hit
                start, end = span(tokens[i][1], tokens[i + n - 1][2])
                found.append(Match(cat, start, end, _term_key(term) not in lexicon.ambiguous))
                matched = n
                break
        i += matched or 1
    for cat, pattern in lexicon.patterns:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                found.append(Match(cat, m.start(), m.end(), pattern.pattern not in lexicon.weak_patterns))
    for cat, sym in lexicon.emoji:
        start = text.find(sym)
        while start != -1:
            found.append(Match(cat, start, start + len(sym), False))
            start = text.find(sym, start + len(sym))
    found.sort(key=lambda m: (m.start, -m.end))
    seen: set[tuple[str, int, int]] = set()
    out = []
    for m in found:  # a span/category found by both the n-gram table and a pattern counts once
        if (m.category, m.start, m.end) not in seen:
            seen.add((m.category, m.start, m.end))
            out.append(m)
    return out


def match_text(text: str, lexicon: Lexicon, field: Field = "description") -> list[LexiconHit]:
    """All lexicon hits in one field, longest term first at each position, spans into the original text."""
    return [
        LexiconHit(term=text[m.start : m.end], category=m.category, field=field, start=m.start, end=m.end)
        for m in find_matches(text, lexicon)
    ]


def _lookup(words: list[str], lexicon: Lexicon) -> tuple[str, str] | None:
    key = tuple(words)
    if key in lexicon.ngrams:
        return lexicon.ngrams[key]
    last = words[-1]
    if len(last) > 3 and last.endswith("s") and (found := lexicon.ngrams.get((*key[:-1], last[:-1]))):
        return found
    options = [_variants(w) for w in words]
    if all(len(o) == 1 for o in options):
        return None
    for pick in range(1, 3):
        alt = tuple(o[min(pick, len(o) - 1)] for o in options)
        if alt in lexicon.ngrams:
            return lexicon.ngrams[alt]
    return None


def match_fields(fields: dict[str, str | None], lexicon: Lexicon) -> list[LexiconHit]:
    """Hits across a listing's title, description and seller fields."""
    hits: list[LexiconHit] = []
    for name, value in fields.items():
        if value:
            hits.extend(match_text(value, lexicon, name))
    return hits


def features(hits: list[LexiconHit], lexicon: Lexicon) -> list[float]:
    """Per-category evidence strength (log-damped hit counts) in lexicon category order, for the stacker."""
    import math

    counts = Counter(h.category for h in hits)
    return [math.log1p(counts.get(name, 0)) for name in lexicon.names]
