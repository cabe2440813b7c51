"""Issue #20's twelve probe listings, on a model trained on real text: right bare, on a market and on a shop.

Offers must be flagged and named with their class (the fentanyl powder on a "shop" too: fake
pharmacies and research-chemical stores sell that way); vitamins, ibuprofen, rock candy, a
veterinary xylazine product, free test strips and seizure news must not be flagged, with or
without a source kind. The context line may inform the words; it must never overrule them.
"""

import pytest

from classifiers.gate import PROBE_MODES, PROBES, probe_results
from classifiers.inference import Classifier

pytestmark = pytest.mark.slow

# Misses of the current recipe, measured (docs/classifier.md "Known gaps"): none. The street-slang pill
# offers that the suite's smaller model scored 0.3-0.6 are flagged by the words of their titles
# (`core.grounding.street_pill_offer`) and by the street-pill template families. A miss found later is
# listed here so every other probe still guards against regressions; the release gate counts it anyway.
KNOWN_MISSES: set[tuple[str, str]] = set()


def test_every_probe_is_right_in_every_mode(real_text_model) -> None:
    clf = Classifier.load(real_text_model.settings, model_dir=real_text_model.model_dir)
    results = probe_results(clf)
    assert len(results) == len(PROBES) * len(PROBE_MODES) == 36
    wrong = [
        (r["mode"], r["text"], round(r["score"], 3), r["substances"])
        for r in results
        if not r["right"] and (r["text"], r["mode"]) not in KNOWN_MISSES
    ]
    assert not wrong, wrong


def test_known_misses_are_probes() -> None:
    texts = {p.text for p in PROBES}
    assert {text for text, _ in KNOWN_MISSES} <= texts
    assert {mode for _, mode in KNOWN_MISSES} <= set(PROBE_MODES)
