"""The first-run messages: transformers' load report for the base checkpoint is not shown."""

import pytest

from classifiers.release import quiet_base_model_load
from classifiers.train import base_model_path


def _load_base_model() -> None:
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(base_model_path(), num_labels=3)


def test_the_base_models_load_report_is_silenced(capfd: pytest.CaptureFixture[str]) -> None:
    _load_base_model()
    assert "MISSING" in capfd.readouterr().err  # what a first demo run used to open with
    with quiet_base_model_load():
        _load_base_model()
    assert "MISSING" not in capfd.readouterr().err
