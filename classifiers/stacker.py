"""Calibrated combination of the transformer's logits with lexicon evidence.

The fine-tuned model is good at reading context ("free test strips" vs "test before you
buy from me") but was trained on our own corpus; the lexicon is transparent and catches
rare terms and CAS numbers the model never saw. A logistic regression per output, fit on
the *validation* split (families the model did not train on), takes
``[model logit, log1p(hit count) per lexicon category]`` and returns a calibrated
probability (Platt scaling with lexicon features). Coefficients are stored as JSON in the
model directory, so inference needs only numpy.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .labels import OUTPUTS, SALE


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
    substance_lexicon_index: dict[str, int]  # substance -> index of its lexicon feature

    def design(self, logit: np.ndarray, lex: np.ndarray, output: str) -> np.ndarray:
        """Feature matrix for one output: the sale head sees every lexicon category, a substance head its own."""
        if output == SALE:
            return np.column_stack([logit, lex])
        return np.column_stack([logit, lex[:, self.substance_lexicon_index[output]]])

    def predict(self, logits: np.ndarray, lex: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, one column per output in `OUTPUTS` order."""
        cols = [self.heads[name].prob(self.design(logits[:, i], lex, name)) for i, name in enumerate(OUTPUTS)]
        return np.column_stack(cols)

    def to_json(self) -> dict:
        return {
            "method": "logistic regression per output on [model logit, log1p lexicon hit counts], fit on validation",
            "lexicon_categories": list(self.lexicon_categories),
            "substance_lexicon_index": self.substance_lexicon_index,
            "heads": {k: {"coef": list(v.coef), "intercept": v.intercept} for k, v in self.heads.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> "Stacker":
        return cls(
            heads={k: LinearHead(tuple(v["coef"]), float(v["intercept"])) for k, v in data["heads"].items()},
            lexicon_categories=tuple(data["lexicon_categories"]),
            substance_lexicon_index={k: int(v) for k, v in data["substance_lexicon_index"].items()},
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
    index = {name: lexicon_categories.index(name) for name in OUTPUTS if name != SALE}
    proto = Stacker({}, lexicon_categories, index)
    heads = {name: fit_head(proto.design(logits[:, i], lex, name), targets[:, i]) for i, name in enumerate(OUTPUTS)}
    return Stacker(heads, lexicon_categories, index)
