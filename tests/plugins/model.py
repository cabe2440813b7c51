"""Fixtures for the model area.

`trained_model` is the quick model, trained once per session as the demo's first run trains it
(`first_training`: a fresh interpreter fine-tunes, exports to int8 ONNX and promotes it, with the
demo's bars and log routing), and hands back `Settings` pointing at it. So the check of what that
first run shows (`tests/test_demo_quiet.py`) costs no second training. Other areas' tests (the
Airflow DAG end to end) use it too: `trained_model.settings` is all they need.

`real_text_model` trains the demo's recipe (real corpus plus the generated look-alike and
shop-offer families) on a third of its real rows, once per session and only for the tests
that need a model trained on real text (the probes of issue #20): several minutes on 2 cores.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from tests.fresh_python import run_fresh

FIRST_TRAINING = """
import logging, sys
from pathlib import Path
from rich.console import Console
from core.settings import load_settings
from listingwatch.demo.run import demo_log, ensure_model
from listingwatch.library_logs import LibraryLogs

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
settings = load_settings(home=Path(sys.argv[1]))
console = Console(file=sys.stdout, force_terminal=True, width=120)
with LibraryLogs(demo_log(settings), console):
    print("=== model", ensure_model(settings, console, quick=True), flush=True)
"""


@dataclass(frozen=True)
class FirstTraining:
    """The demo's first run with no model yet, set up as the CLI sets it up: where, and what it printed."""

    home: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def first_training(tmp_path_factory: pytest.TempPathFactory) -> FirstTraining:
    home = tmp_path_factory.mktemp("model-home")
    stdout, stderr = run_fresh(FIRST_TRAINING, home, timeout=1800)
    return FirstTraining(home, stdout, stderr)


@dataclass(frozen=True)
class TrainedModel:
    settings: Settings
    model_dir: Path

    @property
    def version(self) -> str:
        return self.model_dir.name


@pytest.fixture(scope="session")
def trained_model(first_training: FirstTraining) -> TrainedModel:
    from classifiers.registry import active_model_dir

    settings = load_settings(home=first_training.home)
    model_dir = active_model_dir(settings)
    assert model_dir is not None and f"=== model {model_dir.name}" in first_training.stdout
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
