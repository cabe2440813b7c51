"""Fixtures for the model area.

`trained_model` trains the quick model once per session into a temporary models directory,
exports it to int8 ONNX, promotes it, and hands back `Settings` pointing at it. Other areas'
tests (the Airflow DAG end to end) use it too: `trained_model.settings` is all they need.

`real_text_model` trains the demo's recipe (real corpus plus the generated look-alike and
shop-offer families) on a third of its real rows, once per session and only for the tests
that need a model trained on real text (the probes of issue #20): several minutes on 2 cores.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest

from core.settings import Settings, load_settings


@dataclass(frozen=True)
class TrainedModel:
    settings: Settings
    model_dir: Path

    @property
    def version(self) -> str:
        return self.model_dir.name


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    from classifiers.release import train_and_release

    home = tmp_path_factory.mktemp("model-home")
    settings = load_settings(home=home, model={"models_dir": home / "models"})
    model_dir = train_and_release(settings, quick=True, seed=0, promote=True)
    return TrainedModel(settings=settings, model_dir=model_dir)


@pytest.fixture
def model_settings(trained_model: TrainedModel, tmp_path: Path) -> Settings:
    """Settings on the session's trained model with a fresh `var_dir` (an empty skip cache) per test."""
    return load_settings(home=tmp_path, model={"models_dir": trained_model.settings.model.models_dir})


@pytest.fixture(scope="session")
def real_text_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    from dataclasses import replace

    from classifiers.release import train_and_release
    from classifiers.train import FULL_REAL

    home = tmp_path_factory.mktemp("real-model-home")
    settings = load_settings(home=home, model={"models_dir": home / "models"})
    config = replace(FULL_REAL, real_train_rows=3000, real_validation_rows=1200)
    model_dir = train_and_release(settings, seed=0, config=config, promote=False)
    return TrainedModel(settings=settings, model_dir=model_dir)
