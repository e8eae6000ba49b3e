"""Starting the MLflow writer process (``python -m automl.tracking.writer``), ahead of its job where that helps.

Before it can write anything the writer imports MLflow, SQLAlchemy and scikit-learn: about 2.5-3 s on 2 cores. A
writer is not started for a store: it waits for its job's target (store, experiment, working folder, journal
folder), which the job sends first when it takes the writer (:func:`writer_process`). So a writer can be started
before anyone knows the job, and do its imports meanwhile:

- a command that is about to run a tracked job (``automl tune``, ``automl resume``) starts one with
  :func:`writer_started_early` before its own imports, data reading and checks, so the two overlap on separate
  cores; one that nobody took has received nothing and written nothing, and is stopped when the block ends;
- a process that ran a tracked job keeps one spare writer (:func:`keep_a_spare`) for its next job (a notebook, a
  cross-validation of ``AutoML``, a test suite), so that job's records do not wait for the imports. A spare exits
  with the process, when another spare replaces it, or after :data:`SPARE_IDLE_S` unused;
  ``AUTOML_SPARE_WRITER=0`` turns spares off.

A waiting writer is only taken by a job of the same process, environment and Ctrl-C handling.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from automl.tracking.frames import IGNORES_CTRL_C, write_frame
from automl.tracking.journal import JOURNAL_DIR_ENV, journal_folder

#: The experiment of a job that names none.
DEFAULT_EXPERIMENT = "automl"
#: "0" turns off the spare writer a process keeps after a tracked job.
SPARE_ENV = "AUTOML_SPARE_WRITER"
#: Seconds a writer waits for its job before it exits (a spare nobody took).
SPARE_IDLE_S = 300.0

#: Variables a waiting writer may differ in from its job: those that libraries set when imported, which the job's
#: own imports add after an early start (scikit-learn's and joblib's for Intel OpenMP, MLflow's telemetry session;
#: the writer imports both libraries itself); the journal folder, which the job sends with its target; pytest's
#: name of the test running, which it changes for every test.
NOT_COMPARED = frozenset({"KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK", "_MLFLOW_TELEMETRY_SESSION_ID", JOURNAL_DIR_ENV,
                          "PYTEST_CURRENT_TEST"})

_Key = tuple[tuple[str, ...], frozenset[tuple[str, str]]]  # Ctrl-C handling, environment


@dataclass
class _Waiting:
    key: _Key
    process: subprocess.Popen[bytes]
    spare: bool  # kept after a job (else started early by a command, for the job it is about to run)
    pid: int  # the process that started it: a forked child must not take its parent's writer


_waiting: list[_Waiting] = []
_lock = threading.Lock()
_early_blocks = 0  # commands' blocks open: they run one job, and need no spare after it
_exit_hook = False


def writer_process(tracking_uri: str | None, experiment: str | None) -> subprocess.Popen[bytes]:
    """A writer for a job recorded in ``experiment`` of ``tracking_uri``: a waiting one (started early for it, or
    a spare) if it matches, else a new one; it has been sent the job's target."""
    key = _key()
    with _lock:
        taken = next((w for w in sorted(_waiting, key=lambda w: w.spare) if _matches(w, key)), None)
        if taken is not None:
            _waiting.remove(taken)
    target = (tracking_uri or "", experiment or DEFAULT_EXPERIMENT, os.getcwd(), str(journal_folder().resolve()))
    if taken is not None:
        try:
            return _aim(taken.process, target)
        except OSError:  # it died meanwhile (killed, or out of its idle time): start one
            taken.process.kill()
            taken.process.wait()
    return _aim(_launch(key), target)


@contextlib.contextmanager
def writer_started_early(enabled: bool = True, environment: Mapping[str, str] | None = None
                         ) -> Iterator[subprocess.Popen[bytes] | None]:
    """Start a writer for the job this block runs (when ``enabled``; yielded), in the process's environment with
    ``environment`` added (what the block sets before the job starts); stop it at the end if no job took it. The
    block's job keeps no spare after it."""
    global _early_blocks
    if not enabled:
        yield None
        return
    key = _key(environment or {})
    waiting = _Waiting(key, _launch(key), spare=False, pid=os.getpid())
    with _lock:
        _waiting.append(waiting)
        _early_blocks += 1
    try:
        yield waiting.process
    finally:
        with _lock:
            _early_blocks -= 1
            untaken = waiting in _waiting
            if untaken:
                _waiting.remove(waiting)
        if untaken:
            _stop(waiting.process)  # it has had no message: nothing of it is in the store


def keep_a_spare() -> None:
    """After a tracked job: start a writer for this process's next job, unless one like it waits already (or
    spares are off). It replaces a spare of another environment."""
    global _exit_hook
    if os.environ.get(SPARE_ENV) == "0":
        return
    key = _key()
    with _lock:
        if _early_blocks or any(_matches(w, key) for w in _waiting if w.spare):
            return
        replaced = [w for w in _waiting if w.spare]
        for w in replaced:
            _waiting.remove(w)
        _waiting.append(_Waiting(key, _launch(key), spare=True, pid=os.getpid()))
        if not _exit_hook:
            atexit.register(_stop_waiting)
            _exit_hook = True
    for w in replaced:
        _stop(w.process)


def _aim(process: subprocess.Popen[bytes], target: tuple[str, str, str, str]) -> subprocess.Popen[bytes]:
    """Send ``process`` its job's target (store, experiment, working folder, journal folder): its first message."""
    assert process.stdin is not None
    write_frame(process.stdin, ("target", target))
    process.stdin.flush()
    return process


def _matches(waiting: _Waiting, key: _Key) -> bool:
    """Whether ``waiting`` can serve a job of this process with ``key`` (its environment may since have gained what
    the job's imports set, or another journal folder: :data:`NOT_COMPARED`)."""
    def compared(k: _Key) -> _Key:
        return k[0], frozenset((n, v) for n, v in k[1] if n not in NOT_COMPARED)

    return waiting.pid == os.getpid() and waiting.process.poll() is None and compared(waiting.key) == compared(key)


def _key(added: Mapping[str, str] | None = None) -> _Key:
    ctrl_c = (IGNORES_CTRL_C,) if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else ()
    return ctrl_c, frozenset({**_environment(), **(added or {})}.items())


def _environment() -> dict[str, str]:
    """The caller's environment, with this package importable (an installed one, or a checkout run from its root)."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _launch(key: _Key) -> subprocess.Popen[bytes]:
    ctrl_c, env = key
    return subprocess.Popen([sys.executable, "-m", "automl.tracking.writer", *ctrl_c],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(env), preexec_fn=_ignore_ctrl_c)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def _stop_waiting() -> None:
    """At the interpreter's exit: stop this process's waiting writers (they have written nothing)."""
    with _lock:
        mine = [w for w in _waiting if w.pid == os.getpid()]
        for w in mine:
            _waiting.remove(w)
    for w in mine:
        _stop(w.process)


def _ignore_ctrl_c() -> None:
    """In the writer from its first instruction: a Ctrl-C while it imports MLflow (its first seconds) or waits for
    its job killed it and every record of the job with it; ``writer.InterruptWatch`` takes SIGINT over once its
    job has taken it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
