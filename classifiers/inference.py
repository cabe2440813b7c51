"""Scoring listings fast on CPU, with the evidence an analyst needs to trust a flag.

`Classifier.load()` picks the model in service (see `classifiers.registry`) and runs its
int8 ONNX export when there is one, else the PyTorch weights. `predict` deduplicates texts
within the call, tokenises with head+tail truncation, runs length-sorted batches padded only
to their own longest member, and calibrates the logits with the lexicon stacker. A title that offers
counterfeit pills by a grounding name and a count for a price ("M30 blues 100 for 900") scores at least
the threshold (`core.grounding.street_pill_offer`): such terse offers are rare in the real text the
network learns from, and the words say it outright. Likewise a listing of naloxone or test strips that
names no drug as its product scores at most `HARM_REDUCTION_CEILING` (`core.grounding.harm_reduction_product`):
a dose and a pack size make it look like an offer, but it is the antidote. A flagged listing's
substances are the classes its text names as the product (`core.grounding`), else the substance heads'. Flagged
listings also get token attributions by occlusion: each word (or, in long texts, each run of
words) is replaced by [MASK] in turn and the drop in the model's sale logit is its weight.
That costs one extra forward row per word, so it is done only for flagged listings.

`classify_file` is the JSONL shell around it with a persistent skip cache keyed by
(model version, SHA-256 of the normalised text), so re-crawled unchanged listings cost nothing.
"""

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import to_json

from core import jsonl
from core.errors import ListingwatchError
from core.grounding import harm_reduction_product, street_pill_offer, substances_for
from core.labels import OUTPUTS, SUBSTANCES, scope_of
from core.lexicon import Lexicon, features, load_lexicon, match_fields
from core.schema import (
    MAX_TEXT,
    MAX_TITLE,
    Classification,
    Explanation,
    LexiconHit,
    Listing,
    Seller,
    TokenAttribution,
)
from core.settings import Settings, get_settings

from .backends import Backend, OnnxBackend, TorchBackend, run_batched
from .encoding import encode, text_sha256
from .modeldir import ModelDir
from .registry import active_model_dir, is_complete
from .text import ListingInput, model_text

HARM_REDUCTION_CEILING = 0.05  # an antidote or test-strip listing is not an offer, whatever its doses look like
MAX_UNITS = 16  # occlusion units per flagged listing: bounds the cost of explanations
TOP_TOKENS = 8
# Longest text an attribution quotes: a run of words in a long vendor menu can span thousands
# of characters, and a quote past the schema's field cap would fail the whole record.
MAX_SNIPPET = 200

T = TypeVar("T")


@dataclass(frozen=True)
class Scored:
    """Raw per-text results before they become `Classification` records."""

    probs: np.ndarray  # calibrated, OUTPUTS order
    sale_logit: float
    hits: list[LexiconHit]


class Classifier:
    """A loaded model version: tokenizer, network backend, lexicon stacker and thresholds."""

    def __init__(self, model_dir: Path, backend: Backend, *, batch_size: int = 32) -> None:
        from transformers import AutoTokenizer

        self.model_dir = model_dir
        self.backend = backend
        self.batch_size = batch_size
        self.model = ModelDir.open(model_dir)
        self.meta = self.model.meta
        self.thresholds = self.model.thresholds
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.stacker = self.model.stacker
        self.lexicon: Lexicon = load_lexicon()
        if self.stacker.lexicon_categories != self.lexicon.names:
            raise ListingwatchError(
                f"Model {model_dir.name} was calibrated on other lexicon categories; retrain with "
                "`listingwatch model train`."
            )
        self.max_length = self.meta.max_length

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def threshold(self) -> float:
        return self.thresholds.sale

    def text(self, item: ListingInput) -> tuple[str, list[tuple[str, int]]]:
        """What this model reads for `item` (models trained before the context line read the fields only)."""
        return model_text(item, self.meta.input_format)

    @classmethod
    def load(
        cls,
        settings: Settings | None = None,
        model_dir: Path | None = None,
        backend: Literal["auto", "onnx", "pytorch"] = "auto",
    ) -> "Classifier":
        """The model in service (or `model_dir`): int8 ONNX when exported, else PyTorch."""
        settings = settings or get_settings()
        path = model_dir or active_model_dir(settings)
        if path is None or not is_complete(path):
            where = path or settings.model.models_dir
            raise ListingwatchError(f"No trained model in {where}: run `listingwatch model train` first.")
        onnx_path = ModelDir.open(path).onnx_path
        if backend == "onnx" or (backend == "auto" and onnx_path.is_file()):
            if not onnx_path.is_file():
                raise ListingwatchError(
                    f"Model {path.name} has no ONNX export: run `listingwatch model export {path.name}`."
                )
            return cls(path, OnnxBackend(onnx_path), batch_size=settings.model.batch_size)
        return cls(path, TorchBackend.load(path), batch_size=settings.model.batch_size)

    # ------------------------------------------------------------------ scoring

    def score(self, items: Sequence[ListingInput]) -> list[Scored]:
        """Calibrated probabilities and lexicon hits for each item; identical texts are run once."""
        if not items:
            return []
        texts = [self.text(f)[0] for f in items]
        unique: dict[str, int] = {}
        for t in texts:
            unique.setdefault(t, len(unique))
        order = list(unique)
        ids = encode(self.tokenizer, order, self.max_length).ids
        logits = run_batched(self.backend, ids, self.batch_size, len(OUTPUTS))
        hits = [match_fields(f.fields(), self.lexicon) for f in items]
        lex = np.array([features(h, self.lexicon) for h in hits], dtype=np.float32)
        item_logits = logits[np.array([unique[t] for t in texts], dtype=np.int64)]
        probs = self.stacker.predict(item_logits, lex)
        for i, f in enumerate(items):  # the words of a street pill offer or an antidote decide, whatever the net says
            if street_pill_offer(f.fields(), self.lexicon):
                probs[i, 0] = max(probs[i, 0], self.threshold)
            elif harm_reduction_product(f.fields(), self.lexicon):
                probs[i, 0] = min(probs[i, 0], HARM_REDUCTION_CEILING)
        return [Scored(probs[i], float(item_logits[i, 0]), hits[i]) for i in range(len(items))]

    def predict(self, listings: Sequence[Listing], explain: bool = True) -> list[Classification]:
        """One `Classification` per listing, in order; token attributions for flagged ones when `explain`."""
        return self.classify([ListingInput.from_listing(li) for li in listings], explain=explain)

    def classify(self, items: Sequence[ListingInput], explain: bool = True) -> list[Classification]:
        scored = self.score(items)
        out = []
        for f, s in zip(items, scored, strict=True):
            score = float(s.probs[0])
            flagged = score >= self.threshold
            labels = {name: round(float(p), 6) for name, p in zip(OUTPUTS, s.probs, strict=True)}
            heads = [n for n in SUBSTANCES if labels[n] >= self.thresholds.substance]
            substances = substances_for(f.fields(), self.lexicon, heads)[0] if flagged else []
            out.append(
                Classification(
                    score=round(score, 6),
                    flagged=flagged,
                    threshold=self.threshold,
                    substances=substances,
                    scope=scope_of(flagged, substances),
                    labels=labels,
                    model_version=self.version,
                    text_sha256=text_sha256(self.text(f)[0]),
                    explanation=Explanation(lexicon=s.hits),
                )
            )
        if explain:
            todo = [i for i, c in enumerate(out) if c.flagged]
            for i, tokens in zip(todo, self.attributions([items[i] for i in todo]), strict=True):
                out[i].explanation.tokens = tokens
        return out

    # ------------------------------------------------------------------ explanations

    def attributions(self, items: Sequence[ListingInput]) -> list[list[TokenAttribution]]:
        """Occlusion attributions: the drop in the sale logit when each word is replaced by [MASK].

        Words are replaced, not hidden with the attention mask: the fused int8 ONNX graph reads the
        mask as a sequence length (ONNX Runtime's attention fusion assumes right padding), so a hidden
        word in the middle cut off the last token instead and every word got the same weight. A
        replaced token means the same thing to every backend. Only words of the listing's fields
        are units; the context line is never replaced.
        """
        results = []
        blank = self.tokenizer.mask_token_id
        if blank is None:
            blank = self.tokenizer.unk_token_id
        for f in items:
            text, starts = self.text(f)
            enc = encode(self.tokenizer, [text], self.max_length)
            ids, offsets = enc.ids[0], enc.offsets[0]
            first = starts[0][1] if starts else len(text)
            units = _word_units(text, offsets, first)
            if not units:
                results.append([])
                continue
            width = len(ids)
            input_ids = np.tile(np.asarray(ids, dtype=np.int64), (len(units) + 1, 1))
            mask = np.ones((len(units) + 1, width), dtype=np.int64)
            for r, (positions, _s, _e) in enumerate(units, start=1):
                input_ids[r, positions] = blank
            logits = self.backend.logits(input_ids, mask)[:, 0]
            weights = logits[0] - logits[1:]
            ranked = sorted(range(len(units)), key=lambda k: -abs(weights[k]))[:TOP_TOKENS]
            attrs = []
            for k in sorted(ranked, key=lambda k: -weights[k]):
                _p, s, e = units[k]
                e = min(e, s + MAX_SNIPPET)
                name, base = _field_at(starts, s)
                attrs.append(
                    TokenAttribution(
                        token=text[s:e], weight=round(float(weights[k]), 4), field=name, start=s - base, end=e - base
                    )
                )
            results.append(attrs)
        return results


def reported_substance_scores(items: Sequence[ListingInput], p_sub: np.ndarray, lexicon: Lexicon) -> np.ndarray:
    """Substance scores as a verdict reports them: 1/0 where the text names the product, the heads' elsewhere.

    Training's and evaluation's per-substance figures go through this, so the model card measures
    the substances analysts see, not the heads alone.
    """
    out = np.array(p_sub, dtype=np.float64, copy=True)
    for i, item in enumerate(items):
        named, source = substances_for(item.fields(), lexicon, [])
        if source == "text":
            out[i] = [float(name in named) for name in SUBSTANCES]
    return out


def _word_units(text: str, offsets: list[tuple[int, int]], first: int = 0) -> list[tuple[list[int], int, int]]:
    """Group word pieces from `first` on into words, skip punctuation, merge into <= MAX_UNITS runs."""
    words: list[tuple[list[int], int, int]] = []
    for pos, (s, e) in enumerate(offsets):
        if s < first or e <= s:
            continue
        if words and words[-1][2] == s and text[s].isalnum() and text[s - 1].isalnum():
            words[-1][0].append(pos)
            words[-1] = (words[-1][0], words[-1][1], e)
        else:
            words.append(([pos], s, e))
    words = [w for w in words if any(ch.isalnum() for ch in text[w[1] : w[2]]) or not text[w[1] : w[2]].isascii()]
    if len(words) <= MAX_UNITS:
        return words
    size = -(-len(words) // MAX_UNITS)
    merged = []
    for i in range(0, len(words), size):
        group = words[i : i + size]
        merged.append(([p for g in group for p in g[0]], group[0][1], group[-1][2]))
    return merged


def _field_at(starts: list[tuple[str, int]], pos: int) -> tuple[str, int]:
    name, base = starts[0]
    for n, b in starts:
        if b <= pos:
            name, base = n, b
    return name, base


# ---------------------------------------------------------------------- files and the skip cache


@dataclass(frozen=True)
class BadLine:
    """A line that was not classified: unreadable input, or a record the classifier could not score."""

    line: int
    error: str


@dataclass
class ClassifyReport:
    in_path: Path
    out_path: Path
    model_version: str
    read: int = 0
    classified: int = 0
    cached: int = 0
    flagged: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    failed: list[BadLine] = field(default_factory=list)


class ClassifyInput(BaseModel):
    """What `classify` needs from a line: the text the model reads (a title and/or a description).

    Every other field defaults, and fields this project does not know (a caller's own `id`)
    are not validated here: the output line is the input line, unchanged, plus `classification`.
    Fields that are present and known are checked as a `Listing` would check them.
    """

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    url: str | None = None
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE)] | None = None
    description: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None = None
    seller: Seller = Field(default_factory=Seller)

    @field_validator("url")
    @classmethod
    def _absolute(cls, v: str | None) -> str | None:
        if v is not None and not v.lower().startswith(("http://", "https://")):
            raise ValueError("url must be an absolute http(s) URL")
        if v is not None and not urlsplit(v.strip()).hostname:
            raise ValueError("url has no host name")
        return v

    @field_validator("seller", mode="before")
    @classmethod
    def _seller_name(cls, v: object) -> object:
        return {"name": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _has_text(self) -> "ClassifyInput":
        if not (self.title or self.description):
            raise ValueError("a line needs a non-empty title or description (the text the model reads)")
        return self


def _parse_input(text: str) -> tuple[dict[str, Any], ClassifyInput]:
    raw = jsonl.parse_object(text)
    return raw, ClassifyInput.model_validate(raw)


class SkipCache:
    """Classifications already computed, by (model version, normalised-text SHA-256), in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS scored (model_version TEXT, text_sha256 TEXT, classification TEXT,"
            " PRIMARY KEY (model_version, text_sha256))"
        )

    def get_many(self, version: str, hashes: Sequence[str]) -> dict[str, Classification]:
        found: dict[str, Classification] = {}
        unique = list(dict.fromkeys(hashes))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT text_sha256, classification FROM scored WHERE model_version = ? AND text_sha256 IN ({marks})",  # noqa: S608 - placeholders only
                [version, *chunk],
            )
            found.update((h, Classification.model_validate_json(c)) for h, c in rows)
        return found

    def put_many(self, items: Sequence[Classification]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO scored VALUES (?, ?, ?)",
            [(c.model_version, c.text_sha256, c.model_dump_json()) for c in items],
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def _reuse(cached: Classification, item: ListingInput, lexicon: Lexicon) -> Classification:
    """A cached result for text that differs at most in case/whitespace: re-derive its spans for this text."""
    out = cached.model_copy(deep=True)
    fields = item.fields()
    out.explanation.lexicon = match_fields(fields, lexicon)
    out.scope = scope_of(out.flagged, out.substances)  # verdicts cached before `scope` existed
    for tok in out.explanation.tokens:
        value = (fields.get(tok.field or "") or "").casefold()
        at = value.find(tok.token.casefold()) if value else -1
        tok.start, tok.end = (at, at + len(tok.token)) if at >= 0 else (None, None)
    return out


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _listing_input(raw: dict[str, Any], item: ClassifyInput) -> ListingInput:
    """The model's input for a line: its checked text plus whatever context the line carries (price, kinds)."""
    return ListingInput.from_mapping(
        {**raw, "title": item.title, "description": item.description, "seller": item.seller.name}
    )


def _classify_each(classifier: Classifier, items: Sequence[ListingInput], explain: bool) -> list[Classification | str]:
    """Classify a chunk; if one record breaks it, classify one by one so only that record fails (with why)."""
    try:
        return list(classifier.classify(items, explain=explain))
    except ValueError:
        if len(items) == 1:
            raise
    out: list[Classification | str] = []
    for item in items:
        try:
            out.extend(classifier.classify([item], explain=explain))
        except ValueError as err:  # pydantic's ValidationError included
            reason = jsonl.describe_validation_error(err) if isinstance(err, ValidationError) else str(err)
            out.append(f"could not be classified ({reason[:300]})")
    return out


def classify_file(
    in_path: Path,
    out_path: Path,
    settings: Settings | None = None,
    classifier: Classifier | None = None,
    *,
    explain: bool = True,
    chunk_size: int = 512,
    progress: Callable[[int], None] | None = None,
) -> ClassifyReport:
    """Classify a JSONL file into another: each line comes back unchanged plus `classification`.

    A line needs only a title or a description. Unreadable lines (not UTF-8, not JSON, no
    text, too long) are reported with their numbers and skipped, the same policy as `index
    load`. A record the classifier cannot score is written through without a verdict and
    reported in `failed`: one record never stops a file. The output replaces `out_path`
    atomically, so a failure leaves no partial file behind.
    """
    settings = settings or get_settings()
    in_path, out_path = Path(in_path), Path(out_path)
    if not in_path.is_file():
        raise ListingwatchError(f"Input file {in_path} does not exist; pass a JSONL file of listings.")
    classifier = classifier or Classifier.load(settings)
    report = ClassifyReport(in_path, out_path, classifier.version)

    def skip(bad: jsonl.BadLine) -> None:
        report.bad_lines.append(BadLine(bad.line, bad.reason))

    records = jsonl.read_jsonl(in_path, _parse_input, on_bad=skip)
    cache = SkipCache(settings.var_dir / "classify-cache" / "scored.sqlite")
    done = 0
    with closing(cache), jsonl.atomic_writer(out_path) as out:
        for chunk in _chunks(records, chunk_size):
            fields = [_listing_input(raw, item) for _n, (raw, item) in chunk]
            hashes = [text_sha256(classifier.text(f)[0]) for f in fields]
            hits = cache.get_many(classifier.version, hashes)
            todo = [i for i, h in enumerate(hashes) if h not in hits]
            fresh = _classify_each(classifier, [fields[i] for i in todo], explain)
            cache.put_many([c for c in fresh if isinstance(c, Classification)])
            results: dict[int, Classification | str] = dict(zip(todo, fresh, strict=True))
            for i, (number, (raw, _item)) in enumerate(chunk):
                verdict = results[i] if i in results else _reuse(hits[hashes[i]], fields[i], classifier.lexicon)
                if isinstance(verdict, str):
                    report.failed.append(BadLine(number, verdict))
                    out.write(to_json(raw).decode() + "\n")
                    continue
                report.cached += int(i not in results)
                report.classified += 1
                report.flagged += int(verdict.flagged)
                out.write(to_json({**raw, "classification": verdict.model_dump(mode="json")}).decode() + "\n")
            if progress and chunk:
                progress(chunk[-1][0] - done)
                done = chunk[-1][0]
    report.read = report.classified + len(report.failed) + len(report.bad_lines)
    return report
