"""Starting the MLflow writer process (``python -m automl.tracking.writer``), and starting it ahead of its job.

Before it can write anything the writer imports MLflow, SQLAlchemy and scikit-learn: about 2.5 s on 2 cores. A
command that is about to run a tracked job (``automl tune``, ``automl resume``) starts the writer with
:func:`writer_started_early` before its own imports, data reading and checks, so the two overlap on separate
cores; the job's tracker then takes that process (:func:`writer_process`) instead of starting one. A writer
started early is only taken by a job of the same store, experiment, environment and Ctrl-C handling; one that
nobody took has received nothing and written nothing, and is stopped when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator, Mapping

from automl.tracking.frames import IGNORES_CTRL_C

#: The experiment of a job that names none.
DEFAULT_EXPERIMENT = "automl"

#: Variables that libraries set when imported, which the job's own imports add after an early start: scikit-learn's
#: and joblib's for Intel OpenMP, MLflow's telemetry session. The writer imports both libraries itself.
SET_BY_IMPORTS = frozenset({"KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK", "_MLFLOW_TELEMETRY_SESSION_ID"})

_Key = tuple[str, str, tuple[str, ...], frozenset[tuple[str, str]]]
_early: list[tuple[_Key, subprocess.Popen[bytes]]] = []
_early_lock = threading.Lock()


def writer_process(tracking_uri: str | None, experiment: str | None) -> subprocess.Popen[bytes]:
    """A writer for a job recorded in ``experiment`` of ``tracking_uri``: one started early for it, else a new one."""
    key = _key(tracking_uri, experiment)
    with _early_lock:
        for index, (early_key, process) in enumerate(_early):
            if _same_job(early_key, key) and process.poll() is None:
                del _early[index]
                return process
    return _launch(key)


@contextlib.contextmanager
def writer_started_early(tracking_uri: str | None, experiment: str | None, enabled: bool = True,
                         environment: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[bytes] | None]:
    """Start a writer for the job this block runs (when ``enabled``; yielded), in the process's environment with
    ``environment`` added (what the block sets before the job starts); stop it at the end if no job took it."""
    if not enabled:
        yield None
        return
    key = _key(tracking_uri, experiment, environment or {})
    process = _launch(key)
    with _early_lock:
        _early.append((key, process))
    try:
        yield process
    finally:
        with _early_lock:
            untaken = [(k, p) for k, p in _early if p is process]
            for entry in untaken:
                _early.remove(entry)
        if untaken:
            process.kill()  # it has had no message: nothing of it is in the store
            process.wait()


def _key(tracking_uri: str | None, experiment: str | None, added: Mapping[str, str] | None = None) -> _Key:
    ctrl_c = (IGNORES_CTRL_C,) if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else ()
    env = {**_environment(), **(added or {})}
    return tracking_uri or "", experiment or DEFAULT_EXPERIMENT, ctrl_c, frozenset(env.items())


def _same_job(early: _Key, now: _Key) -> bool:
    """Whether a writer started with ``early`` serves a job of ``now`` (its environment may since have gained what
    the job's imports set: :data:`SET_BY_IMPORTS`)."""
    def job(key: _Key) -> _Key:
        return (*key[:3], frozenset((n, v) for n, v in key[3] if n not in SET_BY_IMPORTS))

    return job(early) == job(now)


def _environment() -> dict[str, str]:
    """The caller's environment, with this package importable (an installed one, or a checkout run from its root)."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _launch(key: _Key) -> subprocess.Popen[bytes]:
    uri, experiment, ctrl_c, env = key
    return subprocess.Popen(
        [sys.executable, "-m", "automl.tracking.writer", uri, experiment, *ctrl_c],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(env), preexec_fn=_ignore_ctrl_c,
    )


def _ignore_ctrl_c() -> None:
    """In the writer from its first instruction: a Ctrl-C while it imports MLflow (its first seconds) killed it and
    every record of the job with it; ``writer.InterruptWatch`` takes SIGINT over once it runs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
