"""The lexicon stacker's substance heads: what they are fit on, and that old model files still load."""

import numpy as np

from classifiers.stacker import Stacker, fit_stacker
from core.labels import OUTPUTS, SUBSTANCES

CATEGORIES = (*SUBSTANCES, "sale", "news_policy")
NITAZENE = OUTPUTS.index("nitazene")


def _validation_like() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sales that name a nitazene are nitazene offers; news that names one is not a sale at all.

    The network's nitazene logit is weak everywhere, as it is for analogues it never saw.
    """
    rng = np.random.default_rng(0)
    n = 400
    sale = np.arange(n) % 2 == 0
    names_nitazene = rng.random(n) < 0.5
    logits = rng.normal(-2.0, 0.5, size=(n, len(OUTPUTS)))
    logits[:, 0] = np.where(sale, 3.0, -3.0) + rng.normal(0, 0.5, n)
    lex = np.zeros((n, len(CATEGORIES)), dtype=np.float32)
    lex[names_nitazene, CATEGORIES.index("nitazene")] = np.log1p(1)
    targets = np.zeros((n, len(OUTPUTS)), dtype=np.int64)
    targets[:, 0] = sale
    targets[:, NITAZENE] = sale & names_nitazene
    return logits, lex, targets


def test_a_sale_that_names_the_substance_gets_it_even_when_news_names_it_too() -> None:
    logits, lex, targets = _validation_like()
    stacker = fit_stacker(logits, lex, targets, CATEGORIES)
    row_logits = np.full((1, len(OUTPUTS)), -2.0)
    row_logits[0, 0] = 3.0
    row_lex = np.zeros((1, len(CATEGORIES)), dtype=np.float32)
    row_lex[0, CATEGORIES.index("nitazene")] = np.log1p(1)
    assert stacker.predict(row_logits, row_lex)[0, NITAZENE] > 0.8
    row_lex[:] = 0
    assert stacker.predict(row_logits, row_lex)[0, NITAZENE] < 0.1


def test_a_substance_head_sees_every_substance_category() -> None:
    logits, lex, targets = _validation_like()
    stacker = fit_stacker(logits, lex, targets, CATEGORIES)
    expected = tuple(range(len(SUBSTANCES)))
    assert all(stacker.substance_lexicon_columns[name] == expected for name in SUBSTANCES)
    assert len(stacker.heads["nitazene"].coef) == 1 + len(SUBSTANCES)
    assert len(stacker.heads["illicit_sale"].coef) == 1 + len(CATEGORIES)


def test_stacker_round_trips_and_reads_files_from_before_it_saw_every_substance() -> None:
    logits, lex, targets = _validation_like()
    stacker = fit_stacker(logits, lex, targets, CATEGORIES)
    again = Stacker.from_json(stacker.to_json())
    np.testing.assert_allclose(again.predict(logits, lex), stacker.predict(logits, lex))

    old = {
        "lexicon_categories": list(CATEGORIES),
        "substance_lexicon_index": {name: i for i, name in enumerate(SUBSTANCES)},
        "heads": {
            name: {"coef": [1.0] + ([0.0] * len(CATEGORIES) if name == "illicit_sale" else [2.0]), "intercept": 0.0}
            for name in OUTPUTS
        },
    }
    loaded = Stacker.from_json(old)
    assert loaded.substance_lexicon_columns["nitazene"] == (CATEGORIES.index("nitazene"),)
    row_lex = np.zeros((1, len(CATEGORIES)), dtype=np.float32)
    row_lex[0, CATEGORIES.index("nitazene")] = 1.0
    probs = loaded.predict(np.zeros((1, len(OUTPUTS))), row_lex)
    assert probs[0, NITAZENE] > 0.8 > 0.5 == probs[0, OUTPUTS.index("fentanyl")]


def test_threshold_is_the_best_f1_among_those_meeting_the_precision_target() -> None:
    from classifiers.metrics import threshold_for_precision

    # 100 offers scored 0.6-0.99 and one at 0.05; 100 non-offers at 0.0-0.04 and four at 0.1-0.4
    y = np.array([1] * 101 + [0] * 104)
    p = np.concatenate([np.linspace(0.6, 0.99, 100), [0.05], np.linspace(0.0, 0.04, 100), [0.1, 0.2, 0.3, 0.4]])
    chosen = threshold_for_precision(y, p, 0.95)
    assert chosen["met"] and chosen["precision"] >= 0.95
    # the lowest threshold at >= 0.95 precision (0.05) would take all four look-alikes for one more offer
    assert 0.4 < chosen["threshold"] <= 0.6
    assert chosen["recall"] == 100 / 101
    unmet = threshold_for_precision(np.array([1, 0, 1, 0]), np.array([0.9, 0.9, 0.1, 0.1]), 0.99)
    assert not unmet["met"]
