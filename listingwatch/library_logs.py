"""Libraries' warnings and log lines into a file, so the terminal holds what the person running a command needs.

`make demo` printed torch's TracerWarnings and onnxruntime's "consider pre-processing before
quantization" (the ONNX export), transformers' weight-loading bars and alembic's migration INFO
lines (Airflow, once imported, puts a console handler at INFO on the root logger) between its
progress bars and its result table. None of it is for the user; all of it helps whoever debugs a
run, so while `LibraryLogs` is installed:

* the root logger writes to the log file (INFO and up) and every other logger that keeps a
  handler of its own (transformers keeps one on stderr) hands its records to the root instead;
  the project's own packages still show WARNING and up on the console, above any progress bar;
* Python warnings are logged on ``py.warnings`` (Airflow swaps in its own console printer for
  `warnings.showwarning` when imported, so this installs its own each time);
* Hugging Face progress bars are off (tqdm writes them to stderr; they are not log records).

Libraries configure logging when first imported, so `install` may be called again after a step
that imported one; leaving the ``with`` block puts everything back. Under ``listingwatch -v``
(root logger at DEBUG) everything is still echoed to the console as well.
"""

import logging
import os
import sys
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

# The project's top-level packages (tests/test_import_layers.py names the same ones).
OWN_PACKAGES = frozenset(
    {"core", "crawlers", "classifiers", "index_config", "takedown", "monitor", "listingwatch", "webapp", "dags"}
)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HF_BARS = "HF_HUB_DISABLE_PROGRESS_BARS"


def is_own(record: logging.LogRecord) -> bool:
    """A record from one of the project's packages (not from a library)."""
    return record.name.partition(".")[0] in OWN_PACKAGES


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    logging.getLogger("py.warnings").warning("%s", text)


class LibraryLogs:
    """Route library output to `path` while installed (a context manager; `install` is idempotent)."""

    def __init__(self, path: Path, console: Console) -> None:
        self.path = path
        self._file = logging.FileHandler(path, encoding="utf-8", delay=True)  # opened at the first record
        self._file.setFormatter(logging.Formatter(LOG_FORMAT))
        self._echo = RichHandler(console=console, show_time=False, show_path=False, markup=False)
        self._root: tuple[list[logging.Handler], int] | None = None
        self._loggers: dict[str, tuple[list[logging.Handler], bool]] = {}
        self._showwarning: Any = None
        self._hf_env: str | None = None
        self._hf_bars_were_on = False

    def __enter__(self) -> "LibraryLogs":
        self.install()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.restore()

    def install(self) -> None:
        root = logging.getLogger()
        if self._root is None:
            self._root = (list(root.handlers), root.level)
            self._showwarning = warnings.showwarning
            self._hf_env = os.environ.get(HF_BARS)
            os.environ[HF_BARS] = "1"  # read when huggingface_hub is first imported
            self.path.parent.mkdir(parents=True, exist_ok=True)
            verbose = logging.NOTSET < root.level <= logging.DEBUG
            self._echo.setLevel(logging.DEBUG if verbose else logging.WARNING)
            self._echo.filters = [] if verbose else [is_own]
        for handler in list(root.handlers):
            if handler not in (self._file, self._echo):
                root.removeHandler(handler)
        for handler in (self._file, self._echo):
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(min(self._root[1] or logging.INFO, logging.INFO))
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger) or name.partition(".")[0] in OWN_PACKAGES:
                continue
            if logger.handlers or not logger.propagate:
                self._loggers.setdefault(name, (list(logger.handlers), logger.propagate))
                for handler in list(logger.handlers):
                    logger.removeHandler(handler)
                logger.propagate = True
        warnings.showwarning = _log_warning
        hf_logging = sys.modules.get("transformers.utils.logging")
        if hf_logging is not None and hf_logging.is_progress_bar_enabled():
            self._hf_bars_were_on = True
            hf_logging.disable_progress_bar()

    def restore(self) -> None:
        """Put back the handlers, levels, warning printer and progress-bar setting found at the first `install`."""
        if self._root is None:
            return
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        handlers, level = self._root
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, (own_handlers, propagate) in self._loggers.items():
            logger = logging.getLogger(name)
            for handler in own_handlers:
                logger.addHandler(handler)
            logger.propagate = propagate
        warnings.showwarning = self._showwarning
        if self._hf_env is None:
            os.environ.pop(HF_BARS, None)
        else:
            os.environ[HF_BARS] = self._hf_env
        hf_logging = sys.modules.get("transformers.utils.logging")
        if hf_logging is not None and self._hf_bars_were_on:
            hf_logging.enable_progress_bar()
        self._file.close()
        self._root, self._loggers, self._hf_bars_were_on = None, {}, False
