"""The labelled corpus the project owns: generated template families plus hand-written examples.

No data set may come from a hub, so the corpus is built here. `data/templates.yaml` holds
template *families* (one platform, language and intent each: a Spanish precursor supplier,
an English harm-reduction post, a marketplace ad for snow boots...), filled with terms from
the lexicon, prices, handles and shipping phrases, and disguised the ways sellers disguise
words (spacing, leetspeak, homoglyphs, invisible characters). `data/handwritten/*.jsonl` adds
examples written by hand, each file a family of its own per `group`. Analysts' triage labels
(`listingwatch triage export`) join as a stratum of their own that only trains (`triage_examples`).

Splits are made by family (stratified by label and substance or language), never by row: a test score
then says how the model does on phrasing it has never seen, which is what real listings are.
"""

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any, Literal

import yaml

from core.errors import ConfigError
from core.grounding import offered_substances
from core.labels import SUBSTANCES, checked_substances
from core.lexicon import DATA_DIR as LEXICON_DIR
from core.lexicon import load_lexicon

from .text import CURRENT_FORMAT, InputFormat, ListingInput, model_text

DATA_DIR = Path(__file__).resolve().parent / "data"

if TYPE_CHECKING:
    from .modeldir import CorpusSpec

Split = Literal["train", "validation", "test"]
SPLITS: tuple[Split, ...] = ("train", "validation", "test")


@dataclass
class Example:
    title: str
    description: str
    seller: str
    sale: int
    substances: list[str]
    lang: str
    platform: str
    family: str
    topic: str = "mixed"  # the family's stratum or fixed substance, if it has one: splits are stratified by it
    source: Literal["generated", "handwritten", "real", "triage"] = "generated"
    split: Split | None = field(default=None)
    origin: str = "generated"  # the real source's name (a market, an encyclopedia); "generated"/"handwritten" else
    source_kind: str = "unknown"
    price: bool = False

    @classmethod
    def from_input(cls, item: ListingInput, sale: int, substances: list[str], **meta: Any) -> "Example":
        """A labelled row read from a file (triage labels, an evaluation set): its fields as the model reads them."""
        return cls(
            title=item.title,
            description=item.description,
            seller=item.seller,
            sale=sale,
            substances=substances,
            source_kind=item.source_kind,
            price=item.price,
            **meta,
        )

    def input(self) -> ListingInput:
        return ListingInput(
            title=self.title,
            description=self.description,
            seller=self.seller,
            price=self.price,
            source_kind=self.source_kind,
        )

    def text(self, input_format: InputFormat = CURRENT_FORMAT) -> str:
        """What the model reads for this example: `classifiers.text.model_text`, as at inference."""
        return model_text(self.input(), input_format)[0]

    def fields(self) -> dict[str, str | None]:
        return {"title": self.title, "description": self.description, "seller": self.seller}


# Where each generated/hand-written platform's listings are found, as the classifier's context.
PLATFORM_KINDS = {
    "classified_ad": "classifieds",
    "marketplace": "market",
    "forum_post": "forum",
    "social_post": "channel",
    "news": "news",
    "supplier_catalogue": "shop",
    "pharmacy": "shop",
}


@lru_cache(maxsize=1)
def load_templates() -> dict:
    text = (DATA_DIR / "templates.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _surface_terms() -> dict[str, list[str]]:
    """Lexicon terms per substance, as the generator writes them (the raw YAML spelling)."""
    raw = yaml.safe_load((LEXICON_DIR / "lexicon.yaml").read_text(encoding="utf-8"))
    return {name: [str(t) for t in raw["categories"][name]["terms"]] for name in SUBSTANCES}


# ------------------------------------------------------------------ obfuscation


_LEET = {"e": "3", "a": "4", "o": "0", "i": "1", "s": "$", "t": "7"}
_HOMO = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}


def obfuscate(term: str, rng: random.Random) -> str:
    """Disguise a term the ways sellers do; each style is one a keyword filter would miss."""
    style = rng.choice(["spaced", "dotted", "leet", "leet_one", "upper", "homoglyph", "zwsp", "emoji", "dash"])
    if style == "spaced":
        return " ".join(term)
    if style == "dotted":
        return ".".join(term)
    if style == "dash":
        return "-".join(term) if len(term) <= 5 else term[:2] + "-" + term[2:]
    if style == "leet":
        return "".join(_LEET.get(c, c) if rng.random() < 0.7 else c for c in term)
    if style == "leet_one":
        idx = [i for i, c in enumerate(term) if c.lower() in _LEET]
        if idx:
            i = rng.choice(idx)
            return term[:i] + _LEET[term[i].lower()] + term[i + 1 :]
        return term
    if style == "upper":
        return term.upper()
    if style == "homoglyph":
        idx = [i for i, c in enumerate(term) if c in _HOMO]
        if idx:
            i = rng.choice(idx)
            return term[:i] + _HOMO[term[i]] + term[i + 1 :]
        return term
    if style == "zwsp":
        mid = max(1, len(term) // 2)
        return term[:mid] + "\u200b" + term[mid:]
    return term + rng.choice(["💊", "❄️", "💎", "🔥"])


# ------------------------------------------------------------------ generation


class _Filler:
    """Fills one template, remembering which substances the {sub}/{sub2} slots introduced."""

    def __init__(self, slots: dict[str, list[str]], terms: dict[str, list[str]], rng: random.Random) -> None:
        self.slots, self.terms, self.rng = slots, terms, rng

    def fill(self, template: str, values: dict[str, str]) -> str:
        out = template
        for _ in range(3):  # slot values may contain slots ({handle} inside {contact})
            # In order of appearance: a set would make the draws depend on PYTHONHASHSEED.
            names = list(dict.fromkeys(f for _, f, _, _ in Formatter().parse(out) if f))
            if not names:
                break
            for name in names:
                if name not in values:
                    if name not in self.slots:
                        raise ConfigError(f"Template slot {{{name}}} has no values in templates.yaml.")
                    values[name] = self.rng.choice(self.slots[name])
            out = out.format_map(values) if "{" in out else out
        return out


def _pick_substance(spec: object, rng: random.Random) -> str | None:
    if spec is None:
        return None
    if spec == "any":
        return rng.choice(SUBSTANCES)
    if isinstance(spec, list):
        return rng.choice(spec)
    if spec in SUBSTANCES:
        return str(spec)
    raise ConfigError(f"Template family substance {spec!r} is not one of {SUBSTANCES}, a list of them, or 'any'.")


def _topic(substance: object) -> str:
    return substance if isinstance(substance, str) and substance != "any" else "mixed"


def generate_family(family: dict, per_family: int, rng: random.Random) -> Iterator[Example]:
    """`per_family` examples of one family; each draws its own slot values and disguises."""
    templates = load_templates()
    terms = _surface_terms()
    filler = _Filler(templates["slots"], terms, rng)
    p_obf = float(family.get("obfuscate", 0.25))
    for _ in range(per_family * int(family.get("weight", 1))):
        sub = _pick_substance(family.get("substance"), rng)
        sub2 = rng.choice([s for s in SUBSTANCES if s != sub])
        values: dict[str, str] = {}
        for slot, cat in (("sub", sub), ("sub2", sub2)):
            if cat is None:
                continue
            term = rng.choice(terms[cat])
            if rng.random() < p_obf:
                term = obfuscate(term, rng)
            elif rng.random() < 0.3:
                term = term.capitalize()
            values[slot] = term
        title_t = rng.choice(family["title"])
        desc_t = rng.choice(family["description"])
        seller_t = rng.choice(family.get("seller") or [""])
        title = filler.fill(title_t, values)
        description = filler.fill(desc_t, values)
        seller = filler.fill(seller_t, values)
        if rng.random() < 0.15:
            description = description.lower()
        sale = int(family["sale"])
        labels: set[str] = set()
        if sale:
            labels = set(family.get("labels") or ([sub] if sub else []))
            if sub and family.get("labels"):
                labels.add(sub)
            if "{sub2}" in title_t + desc_t + seller_t:
                labels.add(sub2)
        yield Example(
            title=title,
            description=description,
            seller=seller,
            sale=sale,
            substances=sorted(labels),
            lang=family["lang"],
            platform=family["platform"],
            family=family["name"],
            topic=family.get("stratum") or _topic(family.get("substance")),
            source_kind=PLATFORM_KINDS.get(family["platform"], "unknown"),
        )


def load_handwritten(directory: Path | None = None) -> list[Example]:
    """Hand-written examples; each line is one JSON object, `group` names its family."""
    root = DATA_DIR / "handwritten" if directory is None else directory
    out: list[Example] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".jsonl"):
            continue
        for n, line in enumerate(entry.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                substances = checked_substances(row["substances"])
                out.append(
                    Example(
                        title=row.get("title", ""),
                        description=row.get("description", ""),
                        seller=row.get("seller", ""),
                        sale=int(row["sale"]),
                        substances=substances,
                        lang=row["lang"],
                        platform=row["platform"],
                        family=f"hw_{row['group']}",
                        source="handwritten",
                        origin="handwritten",
                        source_kind=PLATFORM_KINDS.get(row["platform"], "unknown"),
                    )
                )
            except (ValueError, KeyError, TypeError) as err:
                raise ConfigError(f"Hand-written example {entry.name}:{n} is invalid ({err}); fix that line.") from None
    return out


def _stable_rank(name: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()


def assign_splits(families: dict[str, tuple], seed: int = 0) -> dict[str, Split]:
    """Family -> split, 3:1:1 within each stratum (label, topic or language), so every split sees every kind.

    Without the topic, all precursor sellers could land in train and the lexicon stacker, fit
    on validation, would learn that precursor names mean "lab catalogue".
    """
    strata: dict[tuple[int, str], list[str]] = {}
    for fam, key in families.items():
        strata.setdefault(key, []).append(fam)
    out: dict[str, Split] = {}
    cycle: tuple[Split, ...] = ("train", "validation", "test", "train", "train")
    for fams in strata.values():
        for i, fam in enumerate(sorted(fams, key=lambda f: _stable_rank(f, seed))):
            out[fam] = cycle[i % len(cycle)]
    return out


def real_examples(path: Path, expected_sha256: str | None = None) -> list[Example]:
    """The real-text corpus (`classifiers.realcorpus`) as examples, each in the split its source's role gives it.

    Real rows are their own strata: families are `real_<source>_<group>`, so a held-out market
    stays whole in test and the generated corpus is a supplement beside it, not mixed into it.
    An offer's substances are relabelled from its text where it names the product (`relabelled`).
    """
    from .realcorpus import file_sha256, read_rows

    if expected_sha256 is not None and (not path.is_file() or file_sha256(path) != expected_sha256):
        raise ConfigError(
            f"Real corpus {path} is missing or differs from the one this model was trained on "
            f"(SHA-256 {expected_sha256[:12]}...); rebuild it with `python scripts/fetch_real_corpus.py`."
        )
    out = []
    for row in read_rows(path):
        out.append(
            Example(
                title=row["title"],
                description=row["description"],
                seller=row["seller"],
                sale=int(row["sale"]),
                substances=relabelled(row),
                lang=row.get("lang", "en"),
                platform=row["source_kind"],
                family=f"real_{row['origin']}_{row['group']}",
                topic=f"real_{row['origin']}",
                source="real",
                split=row["split"],
                origin=row["origin"],
                source_kind=row["source_kind"],
                price=bool(row["price"]),
            )
        )
    return out


def relabelled(row: dict) -> list[str]:
    """An offer's substances as its text names them (`core.grounding`), else its source's label.

    Market labels come from the market's category: a fentanyl listing filed under "opioids/other"
    was labelled `other_drug`, an Opana listing under "other" too. The words win where they name
    the product; where they do not (slang, a bare brand-less title), the category label stays.
    """
    if not int(row["sale"]):
        return sorted(row["substances"])
    named = offered_substances({"title": row["title"], "description": row["description"]}, load_lexicon())
    return named or sorted(row["substances"])


def triage_examples(path: Path, expected_sha256: str | None = None) -> list[Example]:
    """Analysts' triage labels (`listingwatch triage export`) as train-only examples.

    They are a stratum of their own (`source`/`topic` "triage", one family per listing) that never
    enters validation or test: the held-out splits, and so the scores the retrain job compares,
    stay exactly those of a model trained without them.
    """
    from .realcorpus import file_sha256

    if expected_sha256 is not None and (not path.is_file() or file_sha256(path) != expected_sha256):
        raise ConfigError(
            f"Triage labels {path} are missing or differ from the ones this model was trained on "
            f"(SHA-256 {expected_sha256[:12]}...)."
        )
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"Cannot read triage labels {path}: {err.strerror}.") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            substances = checked_substances(row["substances"])
            item = ListingInput.from_mapping(row)
            out.append(
                Example.from_input(
                    item,
                    int(row["sale"]),
                    substances if int(row["sale"]) else [],
                    lang=row.get("lang") or "und",
                    platform=row.get("platform") or "",
                    family=str(row["group"]),
                    topic="triage",
                    source="triage",
                    split="train",
                    origin="triage",
                )
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(
                f"Triage label {path}:{n} is invalid ({err}); re-export with `listingwatch triage export`."
            ) from None
    return out


def with_triage(examples: list[Example], triage: list[Example]) -> list[Example]:
    """`examples` plus the triage rows, all in train; a row whose text a held-out row has is left out."""
    held_out = {ex.text() for ex in examples if ex.split != "train"}
    return [*examples, *(ex for ex in triage if ex.text() not in held_out)]


def corpus_for(spec: "CorpusSpec", real_path: Path | None, triage_path: Path | None = None) -> list[Example]:
    """The corpus a model was trained on, rebuilt from its `meta.corpus_spec` (real rows checked by hash).

    Triage rows are train-only, so evaluation and recalibration (validation and test) rebuild
    their splits without `triage_path`; given, it must be the file the spec names.
    """
    examples = build_corpus(per_family=spec.per_family, seed=spec.seed)
    if spec.real_sha256 is not None:
        if real_path is None:
            raise ConfigError("This model was trained with the real-text corpus; set model.real_corpus to its path.")
        real = real_examples(real_path, spec.real_sha256)
        for split, cap in (spec.real_rows or {}).items():
            rows = [ex for ex in real if ex.split == split]
            keep = {id(ex) for ex in sample_real(rows, cap, spec.seed)}
            real = [ex for ex in real if ex.split != split or id(ex) in keep]
        examples.extend(real)
        examples = with_vendor_descriptions(examples, spec.described_share, spec.seed)
    if triage_path is not None:
        if spec.triage_sha256 is None:
            raise ConfigError("This corpus spec names no triage labels; build it without a triage file.")
        examples = with_triage(examples, triage_examples(triage_path, spec.triage_sha256))
    return examples


def with_vendor_descriptions(examples: list[Example], share: float, seed: int) -> list[Example]:
    """Real market titles (train and validation) with, on `share` of them, a description as vendors write one.

    The market dumps hold titles only, but real listing pages carry a description: stealth and
    payment boilerplate, and often a paragraph copied from an encyclopedia about the drug. A model
    that never saw a market title with such a description reads the copied paragraph as a
    factsheet and misses the offer. Each description is vendor boilerplate (the generated slots),
    a reference excerpt from the same split (never the test split), or both; non-drug listings
    (fraud, guides) get them as often as offers, so a description is no evidence either way.
    """
    if share <= 0:
        return examples
    rng = random.Random(seed + 7)
    slots = load_templates()["slots"]
    excerpts: dict[str | None, list[str]] = {}
    for ex in examples:
        if ex.source == "real" and ex.source_kind == "reference" and ex.description:
            excerpts.setdefault(ex.split, []).append(ex.description[:400])
    out = []
    for ex in examples:
        wanted = ex.source == "real" and ex.source_kind == "market" and not ex.description and ex.split != "test"
        if not wanted or rng.random() >= share:
            out.append(ex)
            continue
        parts = []
        kind = rng.random()
        if kind < 0.7:
            contact = rng.choice(slots["contact"])
            for key in ("handle", "phone", "phone4", "hex"):
                if key in slots:
                    contact = contact.replace("{" + key + "}", rng.choice(slots[key]))
            boiler = [rng.choice(slots["ship"]), rng.choice(slots["pay"]), contact, rng.choice(slots["purity"])]
            rng.shuffle(boiler)
            parts.append(". ".join(boiler[: rng.randint(2, 4)]) + ".")
        pool = excerpts.get(ex.split) or []
        if kind >= 0.4 and pool:
            parts.append(rng.choice(pool))
        rng.shuffle(parts)
        out.append(replace(ex, description=" ".join(parts)))
    return out


def sample_real(rows: list[Example], cap: int, seed: int) -> list[Example]:
    """At most `cap` real rows, in proportion to each (source, label) stratum; CPU time is the limit."""
    real = [ex for ex in rows if ex.source == "real"]
    if len(real) <= cap:
        return rows
    strata: dict[tuple[str, int], list[Example]] = {}
    for ex in real:
        strata.setdefault((ex.origin, ex.sale), []).append(ex)
    rng = random.Random(seed)
    keep: list[Example] = []
    for key in sorted(strata):
        rows = strata[key]
        rng.shuffle(rows)
        keep.extend(rows[: max(1, round(cap * len(rows) / len(real)))])
    return [ex for ex in rows if ex.source != "real"] + keep


def build_corpus(
    per_family: int = 120, seed: int = 0, handwritten: bool = True, real: Path | None = None
) -> list[Example]:
    """The whole corpus with `split` set; deterministic for a given (per_family, seed, real corpus file)."""
    rng = random.Random(seed)
    load_lexicon()  # fail early on a broken lexicon
    examples: list[Example] = []
    for family in load_templates()["families"]:
        seen: set[str] = set()
        for ex in generate_family(family, per_family, rng):
            if ex.text() not in seen:
                seen.add(ex.text())
                examples.append(ex)
    if handwritten:
        examples.extend(load_handwritten())
    # Families with a fixed substance are stratified by it (they are few per substance); the rest by language.
    keys = {ex.family: (ex.sale, ex.topic if ex.topic != "mixed" else ex.lang) for ex in examples}
    splits = assign_splits(keys, seed)
    for ex in examples:
        ex.split = splits[ex.family]
    if real is not None:
        examples.extend(real_examples(real))
    return examples
