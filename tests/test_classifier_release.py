"""The first-run messages: transformers' own output while loading the base checkpoint is not shown."""

import pytest

from classifiers.release import quiet_transformers
from classifiers.train import base_model_path

NOISE = ("MISSING", "Loading weights")


def _load_base_model() -> None:
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(base_model_path(), num_labels=3)


def test_the_base_models_load_report_is_silenced(capfd: pytest.CaptureFixture[str]) -> None:
    _load_base_model()
    shown = capfd.readouterr().err
    assert all(noise in shown for noise in NOISE)  # what a first demo run used to open with
    with quiet_transformers():
        _load_base_model()
    shown = capfd.readouterr().err
    assert not any(noise in shown for noise in NOISE)
    _load_base_model()
    assert "MISSING" in capfd.readouterr().err  # and transformers' own settings are back afterwards
