"""The first-run messages: transformers' own output while loading the base checkpoint is not shown.

The loads run in a fresh interpreter: transformers binds its log handler to the stderr of the
moment it first logs, so inside a long test session an earlier test's capture would swallow it.
"""

import os
import subprocess
import sys

NOISE = ("MISSING", "Loading weights")

SCRIPT = """
import sys
from transformers import AutoModelForSequenceClassification
from classifiers.release import quiet_transformers
from classifiers.train import base_model_path

def load():
    AutoModelForSequenceClassification.from_pretrained(base_model_path(), num_labels=3)

load()
print("=== quiet", file=sys.stderr, flush=True)
with quiet_transformers():
    load()
print("=== after", file=sys.stderr, flush=True)
load()
"""


def test_the_base_models_load_report_is_silenced() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    before, rest = done.stderr.split("=== quiet", 1)
    quiet, after = rest.split("=== after", 1)
    assert all(noise in before for noise in NOISE)  # what a first demo run used to open with
    assert not any(noise in quiet for noise in NOISE)
    assert "MISSING" in after  # and transformers' own settings are back afterwards
