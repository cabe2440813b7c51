"""The demo's terminal holds what its user needs; what libraries say goes to var/logs/demo.log.

Each check reads a fresh interpreter set up as the CLI sets it up (`logging.basicConfig` at
WARNING on stderr), for the reason `tests/fresh_python.py` gives.
"""

import re
from pathlib import Path

import pytest

from listingwatch.library_logs import OWN_PACKAGES
from tests.fresh_python import run_fresh
from tests.plugins.model import FirstTraining
from tests.test_import_layers import MAY_IMPORT

ROUTING = """
import logging, sys, warnings
from pathlib import Path
from rich.console import Console
from core.settings import load_settings
from listingwatch.demo.run import demo_log
from listingwatch.demo.webapp import ensure_demo_login
from listingwatch.library_logs import LibraryLogs
from listingwatch.orchestration.airflow_home import configure_airflow

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
settings = load_settings(home=Path(sys.argv[1]))
console = Console(file=sys.stdout, width=200)
with LibraryLogs(demo_log(settings), console) as logs:
    warnings.warn("tracer: converting a tensor to a Python boolean", RuntimeWarning)
    logging.warning("Please consider to run pre-processing before quantization")  # how onnxruntime says it
    logging.getLogger("crawlers.check").warning("own warning for the user")
    logging.getLogger("crawlers.check").info("own detail for the file")
    configure_airflow(settings)
    import airflow.settings  # its first import puts a console handler on the root and its own warning printer
    logs.install()
    warnings.warn("after airflow: a library warning", UserWarning)
    ensure_demo_login(settings)  # a fresh database: alembic logs every migration at INFO
print("=== restored", flush=True)
print("=== restored", file=sys.stderr, flush=True)
warnings.warn("back to the terminal", UserWarning)
logging.warning("root handler back")
"""


def test_library_warnings_and_logs_go_to_the_file_and_come_back_after(tmp_path: Path) -> None:
    out, err = run_fresh(ROUTING, tmp_path, timeout=300)
    (out_during, _, _), (err_during, _, err_after) = out.partition("=== restored"), err.partition("=== restored")
    during = out_during + err_during
    log = (tmp_path / "var" / "logs" / "demo.log").read_text(encoding="utf-8")

    for noise in ("tracer:", "pre-processing before quantization", "after airflow", "alembic", "own detail"):
        assert noise not in during
    assert "own warning for the user" in during  # the project's own warnings are written for users
    for kept in (
        "RuntimeWarning: tracer: converting a tensor",
        "WARNING root: Please consider to run pre-processing before quantization",
        "UserWarning: after airflow",
        "INFO alembic.runtime.migration: Running upgrade",
        "INFO crawlers.check: own detail for the file",
    ):
        assert kept in log
    assert "back to the terminal" in err_after and "root handler back" in err_after  # all put back on leaving
    assert "back to the terminal" not in log


def test_the_own_packages_are_the_floors_of_the_house() -> None:
    assert set(MAY_IMPORT) == OWN_PACKAGES  # a new package's warnings reach its users too


@pytest.mark.slow
def test_first_training_shows_bars_and_no_library_output(first_training: FirstTraining) -> None:
    """The demo's first run trains and exports a model: stages on a bar, torch/onnxruntime/transformers in the file.

    The suite's quick model is that run (`tests.plugins.model.first_training`), so it is trained once."""
    out, err = first_training.stdout, first_training.stderr
    terminal = out + err
    log = (first_training.home / "var" / "logs" / "demo.log").read_text(encoding="utf-8")

    assert re.search(r"=== model clf-\S+-quick$", out, flags=re.M)
    for stage in ("fine-tune", "calibrating on the validation split", "exporting int8 ONNX"):
        assert stage in terminal
    for noise in ("TracerWarning", "Warning:", "quantiz", "Loading weights", "MISSING", "WARNING"):
        assert noise not in terminal, noise
    assert "TracerWarning" in log
    assert "pre-processing before quantization" in log
