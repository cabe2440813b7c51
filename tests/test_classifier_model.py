"""Training output, ONNX/PyTorch agreement, predictions and explanations of the quick model."""

import json

import numpy as np
import pytest

from classifiers.backends import ONNX_FILE, TorchBackend
from classifiers.export import MAX_F1_DROP
from classifiers.inference import Classifier
from classifiers.registry import active_model_dir, latest_model, promote, promoted_version
from core.errors import ListingwatchError
from core.labels import OUTPUTS
from core.schema import Listing

pytestmark = pytest.mark.slow

ILLICIT = [
    ("M30 blues 💊 pressed fent", "M30 blues 💊 pressed fent, tele @plugdude, BTC only"),
    ("Fentanilo en polvo 99%", "Vendo fentanilo, envío discreto a domicilio, pago con cripto. Escríbeme al privado"),
    ("4-ANPP CAS 21409-26-7", "Factory supply 4-ANPP and NPP, 100% safe delivery to Mexico and USA. Wickr: chemlab"),
]
BENIGN = [
    (
        "CDC: fentanyl overdose deaths fell in 2025",
        "Overdose deaths involving fentanyl fell last year, officials said in a report released on Tuesday.",
    ),
    ("Free naloxone", "Free naloxone kits and fentanyl test strips at our harm reduction center. Never use alone."),
    ("Snow boots size 10", "Waterproof snow boots, worn twice. $45, pickup downtown."),
]


def listing(i: int, title: str, description: str) -> Listing:
    return Listing(url=f"https://m.example/{i}", source="t", platform="t", title=title, description=description)


def test_training_writes_a_complete_versioned_model(trained_model) -> None:
    d = trained_model.model_dir
    for name in (
        "config.json", "model.safetensors", "tokenizer.json", "thresholds.json", "metrics.json",
        "MODEL_CARD.md", "meta.json", "stacker.json", "labels.json", ONNX_FILE,
    ):  # fmt: skip
        assert (d / name).is_file(), name
    thresholds = json.loads((d / "thresholds.json").read_text())
    assert 0 < thresholds["sale"] < 1
    assert thresholds["target_precision"] == trained_model.settings.model.target_precision
    metrics = json.loads((d / "metrics.json").read_text())
    assert 0 <= metrics["headline"]["value"] <= 1
    assert json.loads((d / "labels.json").read_text()) == list(OUTPUTS)
    card = (d / "MODEL_CARD.md").read_text()
    for section in ("## Data", "## Intended use", "## Limits and known failure modes", "## Operating threshold"):
        assert section in card
    assert latest_model(trained_model.settings) == d
    assert promoted_version(trained_model.settings) == d.name
    assert active_model_dir(trained_model.settings) == d


def test_obvious_sales_are_flagged_and_hard_negatives_are_not(trained_model) -> None:
    clf = Classifier.load(trained_model.settings)
    assert clf.backend.kind == "onnx-int8"
    rows = [listing(i, t, d) for i, (t, d) in enumerate(ILLICIT + BENIGN)]
    got = clf.predict(rows)
    assert [c.flagged for c in got] == [True] * len(ILLICIT) + [False] * len(BENIGN), [c.score for c in got]
    for c in got:
        assert c.model_version == trained_model.version
        assert c.text_sha256 and len(c.text_sha256) == 64
        assert set(c.labels) == set(OUTPUTS)
    assert {"counterfeit_pill", "fentanyl"} & set(got[0].substances)
    assert "precursor" in got[2].substances
    assert all(not c.substances for c in got[len(ILLICIT) :])


def test_flagged_listings_carry_spans_the_web_app_can_highlight(trained_model) -> None:
    clf = Classifier.load(trained_model.settings)
    item = listing(0, *ILLICIT[0])
    (c,) = clf.predict([item])
    assert c.flagged and c.explanation.lexicon and c.explanation.tokens
    for hit in c.explanation.lexicon:
        assert getattr(item, hit.field)[hit.start : hit.end] == hit.term
    for tok in c.explanation.tokens:
        assert getattr(item, tok.field)[tok.start : tok.end] == tok.token
    assert any(t.weight != 0 for t in c.explanation.tokens)
    (quiet,) = clf.predict([listing(1, *BENIGN[2])])
    assert quiet.explanation.tokens == []  # attributions are computed only for flagged listings


# Listings whose top words are clear on any backend: the ranking test compares the two backends on these.
EXPLAINED = [
    ("M30 blues x100", "pressed fent, tele @plugdude, BTC only"),
    ("Fentanyl powder 10g", "pure 98%, ships worldwide, BTC only"),
    ("Vendo cristal", "metanfetamina, envío discreto, escríbeme al privado"),
    ("4-ANPP CAS 21409-26-7", "Factory supply, safe delivery to Mexico and USA. Wickr: chemlab"),
]


def test_explanations_weigh_words_differently_on_the_int8_backend(trained_model) -> None:
    """Occlusion runs against the int8 graph that scored the listing and tells its words apart (issue #26)."""
    clf = Classifier.load(trained_model.settings)
    assert clf.backend.kind == "onnx-int8"
    for title, description in EXPLAINED:
        (tokens,) = clf.attributions([clf_input(title, description)])
        weights = [t.weight for t in tokens]
        assert len(weights) >= 2 and len(set(weights)) >= 2, (title, weights)


def test_int8_and_pytorch_rank_the_top_words_alike(trained_model) -> None:
    onnx = Classifier.load(trained_model.settings)
    torch_clf = Classifier(trained_model.model_dir, TorchBackend.load(trained_model.model_dir))
    items = [clf_input(t, d) for t, d in EXPLAINED]
    for item, a, b in zip(items, onnx.attributions(items), torch_clf.attributions(items), strict=True):
        top_a = max(a, key=lambda t: t.weight)
        top_b = sorted(b, key=lambda t: -t.weight)[:3]
        # int8 noise may swap near-equal words, never move the top word out of PyTorch's top three
        assert (top_a.field, top_a.start) in {(t.field, t.start) for t in top_b}, (
            item.title,
            [(t.token, t.weight) for t in a],
            [(t.token, t.weight) for t in b],
        )


def clf_input(title: str, description: str):
    from classifiers.text import ListingInput

    return ListingInput(title=title, description=description)


def test_int8_onnx_agrees_with_pytorch(trained_model) -> None:
    from classifiers.evaluate import split_examples

    onnx = Classifier.load(trained_model.settings)
    torch_clf = Classifier(trained_model.model_dir, TorchBackend.load(trained_model.model_dir))
    items = [
        e.input() for e in split_examples("test", trained_model.model_dir, trained_model.settings.model.real_corpus)
    ]
    a = np.array([s.probs[0] for s in onnx.score(items)])
    b = np.array([s.probs[0] for s in torch_clf.score(items)])
    assert np.abs(a - b).mean() < 0.02
    agree = np.mean((a >= onnx.threshold) == (b >= torch_clf.threshold))
    assert agree >= 0.97


def test_identical_texts_in_one_call_get_identical_results(trained_model) -> None:
    clf = Classifier.load(trained_model.settings)
    a, b = clf.predict([listing(0, *ILLICIT[1]), listing(1, *ILLICIT[1])])
    assert a.score == b.score and a.text_sha256 == b.text_sha256
    assert clf.predict([]) == []


def test_promote_and_missing_models_are_clear_errors(trained_model, tmp_path) -> None:
    from core.settings import load_settings

    empty = load_settings(home=tmp_path, model={"models_dir": tmp_path / "none"})
    with pytest.raises(ListingwatchError, match="listingwatch model train"):
        Classifier.load(empty)
    with pytest.raises(ListingwatchError, match="Cannot promote"):
        promote(trained_model.settings, "clf-20000101-000000-nope")
    pinned = load_settings(home=tmp_path, model={"models_dir": tmp_path / "none", "active": "clf-1"})
    with pytest.raises(ListingwatchError, match="LISTINGWATCH_MODEL__ACTIVE"):
        active_model_dir(pinned)


def test_recalibration_writes_a_new_version_and_leaves_the_old_one_as_it_was(trained_model, tmp_path) -> None:
    import shutil

    from classifiers.train import calibrate_model
    from core.settings import load_settings

    settings = load_settings(home=tmp_path, model={"models_dir": tmp_path / "models"})
    old = settings.model.models_dir / trained_model.version
    shutil.copytree(trained_model.model_dir, old)
    before = {p.name: p.read_bytes() for p in old.glob("*.json")}

    new = calibrate_model(old, settings)

    assert new.parent == old.parent and new.name != old.name and new.name.endswith("-recal")
    assert {p.name: p.read_bytes() for p in old.glob("*.json")} == before
    meta = json.loads((new / "meta.json").read_text(encoding="utf-8"))
    assert meta["version"] == new.name and meta["recalibrated_from"] == old.name
    assert latest_model(settings) == new
    # the old version's int8 check is not copied: the new calibration gets one of its own
    report = json.loads((new / "onnx" / "verification.json").read_text(encoding="utf-8"))
    assert report["f1_drop"] <= MAX_F1_DROP and report["n"] > 0
    verdict = Classifier.load(settings, model_dir=new).predict([listing(0, *ILLICIT[2])])[0]
    assert verdict.model_version == new.name and verdict.flagged
