"""MLflow tracking from the search process: messages to a writer process, never a wait on the store.

Every call here pickles a small message onto an in-memory queue; a feeder
thread streams the queue to ``python -m automl.tracking.writer``, which does
the MLflow work (see ``mlflow_records``) in its own process. ``end`` closes the
stream and collects the run id, the model URI and any errors. A store that
cannot be written costs a warning, never the fitted model.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import select
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from automl.errors import InputError
from automl.study import Trial
from automl.tracking.base import Tracker

logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "automl"
#: The end reason of a job stopped by Ctrl-C (tag ``automl.end_reason``; the run is FAILED).
INTERRUPTED = "interrupted (Ctrl-C); its finished trials are recorded"
#: Seconds reserved for the final summary, model and report logging (measured: 1.4 s to 2.3 s on SQLite, 2 cores).
FINISH_RESERVE_S = 2.0
#: Seconds ``end`` waits for the writer to finish before giving up on it.
WRITER_TIMEOUT_S = 300
#: After Ctrl-C, seconds ``end`` waits for the writer's answer; the writer goes on by itself after that.
INTERRUPTED_WAIT_S = 5.0


class MlflowTracker(Tracker):
    """Records a tuning job in MLflow: one parent run, one nested run per trial, the best model."""

    finish_reserve_s = FINISH_RESERVE_S

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        check_tracking_uri(tracking_uri)
        self.requested_uri = tracking_uri
        self.tracking_uri = tracking_uri
        self.experiment = experiment or DEFAULT_EXPERIMENT
        # SimpleQueue.put is one C call: a Ctrl-C cannot leave a lock of it held (queue.Queue's can)
        self._queue: queue.SimpleQueue[tuple[str, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._process: subprocess.Popen[bytes] | None = None
        self._feeder: threading.Thread | None = None
        self._errors: list[str] = []

    def start(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "automl.tracking.writer", self.requested_uri or "", self.experiment],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self._feeder = threading.Thread(target=self._feed, name="automl-mlflow-feeder", daemon=True)
        self._feeder.start()
        self._send("open", params, tags)

    def log_trial(self, trial: Trial, strategy: str) -> None:
        self._send("write_trial", trial, strategy)

    def log_result(
        self,
        leaderboard: pd.DataFrame,
        best: Trial | None,
        summary: dict[str, Any],
        model: Any,
        input_example: pd.DataFrame | None,
    ) -> None:
        self._send("write_result", leaderboard, best, summary, model, input_example)

    def register(self, name: str, tags: dict[str, str]) -> None:
        self._send("register_model", name, tags)

    def end(self, failed: bool = False, interrupted: bool = False, reason: str | None = None) -> None:
        if self._process is None:
            return
        self._send("terminate", failed, INTERRUPTED if interrupted else reason)
        self._queue.put(None)
        wait_s = INTERRUPTED_WAIT_S if interrupted else WRITER_TIMEOUT_S
        started = time.monotonic()
        if self._feeder is not None:
            self._feeder.join(timeout=wait_s)
        reply = self._collect(max(0.0, wait_s - (time.monotonic() - started)), kill=not interrupted)
        self.run_id, self.model_uri = reply.get("run_id"), reply.get("model_uri")
        self.registered_uri = reply.get("registered_uri")
        self.tracking_uri = reply.get("tracking_uri") or self.tracking_uri
        self._errors += reply.get("errors", [])
        if self._errors:
            logger.warning("MLflow tracking at %s had %d error(s); first: %s", self.tracking_uri, len(self._errors), self._errors[0])
            warnings.warn(
                f"MLflow tracking failed ({self._errors[0]}); the model is fitted but not fully recorded.",
                RuntimeWarning, stacklevel=3,
            )

    # -- internals -----------------------------------------------------------
    def _send(self, method: str, *args: Any) -> None:
        self._queue.put((method, args))

    def _feed(self) -> None:
        """Stream queued messages to the writer; pickling happens here, off the search loop."""
        assert self._process is not None and self._process.stdin is not None  # set in start()
        stream = self._process.stdin
        try:
            while (message := self._queue.get()) is not None:
                pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
                if self._queue.empty():
                    stream.flush()
            pickle.dump(("close", ()), stream)
            stream.close()
        except (BrokenPipeError, OSError, pickle.PicklingError) as exc:
            self._errors.append(f"{type(exc).__name__}: {exc}")

    def _collect(self, timeout_s: float, kill: bool) -> dict[str, Any]:
        """The writer's answer within ``timeout_s``; without one, the writer is killed, or (``kill=False``,
        after Ctrl-C) left to finish its writes on its own."""
        assert self._process is not None and self._process.stdout is not None  # set in start()
        try:
            if not select.select([self._process.stdout], [], [], timeout_s)[0]:
                raise subprocess.TimeoutExpired(self._process.args, timeout_s)
            reply = pickle.load(self._process.stdout)
            self._process.wait(timeout=timeout_s if kill else INTERRUPTED_WAIT_S)
            return reply
        except (EOFError, pickle.UnpicklingError, subprocess.TimeoutExpired) as exc:
            if kill:
                self._process.kill()
                return {"errors": [f"the MLflow writer process ended without an answer ({type(exc).__name__})"]}
            logger.warning("The MLflow writer (pid %d) is still writing this job's records; it finishes them on its own.",
                           self._process.pid)
            return {}


def check_tracking_uri(uri: str | None) -> None:
    """Catch the mistakes that can be seen without contacting the store (a SQLite file in a missing folder)."""
    if uri is None:
        return
    if uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///"):]).parent
        if not folder.is_dir():
            raise InputError(f"tracking_uri={uri!r} points into folder {str(folder)!r}, which does not exist; create it or use another path.")
    elif "://" not in uri and not uri.startswith(("databricks", "file:")) and not Path(uri).parent.is_dir():
        raise InputError(f"tracking_uri={uri!r} is neither a URI (sqlite:///..., http://...) nor a path in an existing folder.")
