"""Where other libraries' log lines go in what automl runs: MLflow's "Creating initial MLflow database tables...".

MLflow writes its own INFO lines and advisories on stderr. ``automl tune`` and ``automl resume`` send them, and
Python warnings, to a log file (``./automl.log``, beside the default ``mlflow.db``; its path printed once when
something was written) for the command's duration, or leave them on stderr with ``--verbose``; the tracking writer,
a process of automl's own, follows the command through :data:`ENV`. Under the Python API the user's process is left
alone; its writer process shows MLflow's warnings but not its INFO lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Iterator

#: The log file the tracking writer appends other libraries' messages to (set by the CLI for its writer);
#: :data:`AS_THEY_ARE` leaves them as the libraries set them up (``--verbose``).
ENV = "AUTOML_LOG_FILE"
AS_THEY_ARE = "-"
LOGGERS = ("mlflow", "alembic", "sqlalchemy.engine", "huey", "py.warnings")
#: Advisories a user of automl has no action for (the README says that model files are pickles).
KNOWN = ("Saving scikit-learn models in the pickle or cloudpickle format",)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: MLflow's switch for installing its own log handlers when imported (read by every MLflow 3 release). Off for a
#: command's duration (unless the user set it), so the command's process need not import MLflow (1.4 s on 2 cores)
#: only to replace its handlers: most commands never import it (the tracking writer is a process of its own).
MLFLOW_CONFIGURE = "MLFLOW_CONFIGURE_LOGGING"


class _DropKnown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(KNOWN)


def route_to(path: str | None) -> None:
    """In a process automl owns: other libraries' messages to ``path`` (INFO up), or WARNING up to stderr."""
    if path == AS_THEY_ARE:
        return
    import mlflow  # noqa: F401 - its import installs its handlers, which this replaces

    _route(path)


def _route(path: str | None) -> None:
    handler: logging.Handler
    if path:
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        logging.captureWarnings(True)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(_DropKnown())
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logging.INFO if path and name == "mlflow" else logging.WARNING)
        logger.propagate = False


def environment(path: Path | None) -> dict[str, str]:
    """What :func:`third_party_logs_to` ``path`` sets in the environment, for the tracking writer to follow."""
    if path is None:
        return {ENV: AS_THEY_ARE}
    return {ENV: str(path), MLFLOW_CONFIGURE: os.environ.get(MLFLOW_CONFIGURE, "false")}  # the user's choice stands


@contextlib.contextmanager
def third_party_logs_to(path: Path | None) -> Iterator[Path | None]:
    """For a command's duration: other libraries' messages to ``path`` (None: left as they are), then restored."""
    if path is None:
        previous = os.environ.get(ENV)
        os.environ.update(environment(path))  # the tracking writer too
        try:
            yield None
        finally:
            _restore_env(previous)
        return
    saved = {name: (lg.handlers[:], lg.level, lg.propagate) for name in LOGGERS for lg in [logging.getLogger(name)]}
    previous_env = os.environ.get(ENV)
    previous_configure = os.environ.get(MLFLOW_CONFIGURE)
    capturing = getattr(logging, "_warnings_showwarning", None) is not None  # captureWarnings already on
    os.environ.update(environment(path))  # MLflow imported during the command leaves the loggers routed here
    try:
        _route(str(path))
        yield path
    finally:
        _restore_env(previous_configure, MLFLOW_CONFIGURE)
        for handler in logging.getLogger("mlflow").handlers:
            handler.close()
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers, logger.level, logger.propagate = handlers, level, propagate
        logging.captureWarnings(capturing)
        _restore_env(previous_env)


def _restore_env(previous: str | None, name: str = ENV) -> None:
    if previous is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = previous
