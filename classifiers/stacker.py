"""Calibrated combination of the transformer's logits with lexicon evidence.

The fine-tuned model is good at reading context ("free test strips" vs "test before you
buy from me") but was trained on our own corpus; the lexicon is transparent and catches
rare terms and CAS numbers the model never saw. A logistic regression per output, fit on
the *validation* split (families the model did not train on), takes the output's model logit
and ``log1p(hit count)`` of lexicon categories and returns a calibrated probability (Platt
scaling with lexicon features). Coefficients are stored as JSON in the model directory, so
inference needs only numpy.

The sale head sees every category. A substance head sees the hits of every *substance*
category and is fit on the validation rows that are sales: substances are reported only for
flagged listings, so the head estimates P(substance | sale). Fit on all rows, news and
harm-reduction texts that name a drug taught it that a name is weak evidence, and flagged
listings titled "Isotonitazene powder 1g" came out with no substance at all. Seeing the other
substances' hits lets it learn that "M30 blues" usually means fentanyl and that "stronger
than fent" next to a nitazene name is a comparison.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.labels import OUTPUTS, SALE, SUBSTANCES


@dataclass(frozen=True)
class LinearHead:
    """One logistic regression: p = sigmoid(coef . [logit, lexicon features] + intercept)."""

    coef: tuple[float, ...]
    intercept: float

    def prob(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(x @ np.asarray(self.coef) + self.intercept)


@dataclass(frozen=True)
class Stacker:
    heads: dict[str, LinearHead]  # output name -> head
    lexicon_categories: tuple[str, ...]
    substance_lexicon_columns: dict[str, tuple[int, ...]]  # substance -> the lexicon features its head sees

    def design(self, logit: np.ndarray, lex: np.ndarray, output: str) -> np.ndarray:
        """Feature matrix for one output: its model logit, then the lexicon features its head sees."""
        if output == SALE:
            return np.column_stack([logit, lex])
        return np.column_stack([logit, lex[:, list(self.substance_lexicon_columns[output])]])

    def predict(self, logits: np.ndarray, lex: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, one column per output in `OUTPUTS` order."""
        cols = [self.heads[name].prob(self.design(logits[:, i], lex, name)) for i, name in enumerate(OUTPUTS)]
        return np.column_stack(cols)

    def to_json(self) -> dict:
        return {
            "method": "logistic regression per output on [model logit, log1p lexicon hit counts], fit on validation"
            " (substance heads: on the validation sales only, over every substance category)",
            "lexicon_categories": list(self.lexicon_categories),
            "substance_lexicon_columns": {k: list(v) for k, v in self.substance_lexicon_columns.items()},
            "heads": {k: {"coef": list(v.coef), "intercept": v.intercept} for k, v in self.heads.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> "Stacker":
        if "substance_lexicon_columns" in data:
            columns = {k: tuple(int(i) for i in v) for k, v in data["substance_lexicon_columns"].items()}
        else:  # models calibrated before 2026-11-25: each substance head saw its own category only
            columns = {k: (int(v),) for k, v in data["substance_lexicon_index"].items()}
        return cls(
            heads={k: LinearHead(tuple(v["coef"]), float(v["intercept"])) for k, v in data["heads"].items()},
            lexicon_categories=tuple(data["lexicon_categories"]),
            substance_lexicon_columns=columns,
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Stacker":
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def fit_head(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> LinearHead:
    """Fit one calibrated head; with a single class present, fall back to the model's own sigmoid."""
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        coef = [1.0] + [0.0] * (x.shape[1] - 1)
        return LinearHead(tuple(coef), 0.0)
    lr = LogisticRegression(C=c, max_iter=1000)
    lr.fit(x, y)
    return LinearHead(tuple(float(v) for v in lr.coef_[0]), float(lr.intercept_[0]))


def fit_stacker(
    logits: np.ndarray, lex: np.ndarray, targets: np.ndarray, lexicon_categories: tuple[str, ...]
) -> Stacker:
    """Fit every output's head on validation logits, lexicon features and 0/1 targets (OUTPUTS order)."""
    substance_columns = tuple(lexicon_categories.index(name) for name in SUBSTANCES)
    proto = Stacker({}, lexicon_categories, {name: substance_columns for name in SUBSTANCES})
    sales = targets[:, 0] == 1
    heads = {}
    for i, name in enumerate(OUTPUTS):
        rows = slice(None) if name == SALE else sales
        heads[name] = fit_head(proto.design(logits[rows, i], lex[rows], name), targets[rows, i])
    return Stacker(heads, lexicon_categories, proto.substance_lexicon_columns)
