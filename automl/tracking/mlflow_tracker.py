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
import subprocess
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from automl.errors import InputError
from automl.study import Trial
from automl.tracking.base import Tracker
from automl.tracking.frames import UnpicklableMessage, write_frame
from automl.tracking.journal import JOB_UUID_TAG
from automl.tracking.writer_process import DEFAULT_EXPERIMENT, keep_a_spare, writer_process

logger = logging.getLogger(__name__)

#: The end reason of a job stopped by Ctrl-C (tag ``automl.end_reason``; the run is FAILED).
INTERRUPTED = "interrupted (Ctrl-C); its finished trials are recorded"
#: Seconds reserved for the final summary, model and report logging: the writer's write_result took 0.85-1.4 s
#: on SQLite (2 cores), now that it imports the model's libraries early and skips teardown; through a local
#: `mlflow server` 3.8 s on a quiet machine (the MLflow model is about 130 files, automl's code included, each
#: uploaded in its own request of about 40 ms).
FINISH_RESERVE_S = 1.5
REMOTE_FINISH_RESERVE_S = 4.0
#: Seconds one trial's run is assumed to take the writer until it has measured its own: 1-3 ms measured on
#: SQLite, 40-95 ms through a local `mlflow server` (three HTTP requests) on 2 cores. The assumption matters: the
#: writer's start and the job's "open" (3.7 s over HTTP) can take a short budget's whole search, which then
#: stops on the assumed pace alone (at 60 ms, 127 trials of a 20 s job queued for 94 ms each overran the budget).
DEFAULT_TRIAL_WRITE_S = {"http": 0.1, "https": 0.1}
LOCAL_TRIAL_WRITE_S = 0.01
#: The final writes' reserve grows with the measured pace of the trial writes against the assumed one (a loaded
#: machine or a slow store is slow for the final model's files too), up to this factor: on 2 cores running about
#: 2x slower than usual, a fixed reserve left the last trial run and the job's end to the journal.
MAX_FINISH_PACE = 2.5
#: MB per second of a shipped model that recording it takes beyond FINISH_RESERVE_S (pickled here, sent to the
#: writer, unpickled, saved as an MLflow model): an 814 MB ensemble (two forests of 472 and 336 MB among boosters)
#: took 27 s from its refit to the end of the job on diamonds, 2 cores (one run).
MODEL_WRITE_MB_PER_S = 30.0
#: Seconds the writer gets after the search to write what is queued, for a job with no time budget (at least).
NO_BUDGET_WRITE_S = 30.0
#: Seconds it gets at least when the budget is already spent (the final summary and model).
MIN_WRITE_WINDOW_S = 0.5
#: A remote store that still answers (slow, not away) gets this share of the budget plus a second past its end to
#: take what is queued, the tolerance the budget promises; one that does not answer gets none. The rest goes to the
#: journal. A local store (SQLite, files) cannot be away, only busy: what it still takes is the writer's own work
#: (the final model and report: 1.1 s on a quiet machine, a few seconds under load), which it is given, as is any
#: store for a job without a time budget, for up to NO_BUDGET_SLOW_GRACE_S.
SLOW_STORE_GRACE_SHARE, SLOW_STORE_GRACE_S = 0.04, 0.8
NO_BUDGET_SLOW_GRACE_S = 120.0
REMOTE_SCHEMES = ("http", "https", "databricks")
#: Seconds ``end`` waits for the writer's answer beyond the time it gave the writer.
REPLY_GRACE_S = 2.0
#: After Ctrl-C, seconds ``end`` waits for the writer's answer; the writer goes on by itself after that, for
#: :data:`INTERRUPTED_WRITE_S` at most, then keeps the rest in its journal.
INTERRUPTED_WAIT_S = 5.0
INTERRUPTED_WRITE_S = 30.0


class MlflowTracker(Tracker):
    """Records a tuning job in MLflow: one parent run, one nested run per trial, the best model.

    The writer acknowledges every message with the seconds it took, so the time the job keeps free at the
    end of its budget (:attr:`finish_reserve_s`) covers the trials still queued (a slow store falls behind
    fast trials, a store that is back has the outage's trials to catch up on) as well as the final summary,
    model and report. While the store does not answer, the queue costs no reserve: it goes to the journal.
    """

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        check_tracking_uri(tracking_uri)
        self.requested_uri = tracking_uri
        self.tracking_uri = tracking_uri
        self.experiment = experiment or DEFAULT_EXPERIMENT
        # SimpleQueue.put is one C call: a Ctrl-C cannot leave a lock of it held (queue.Queue's can)
        self._queue: queue.SimpleQueue[tuple[str, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._process: subprocess.Popen[bytes] | None = None
        self._feeder: threading.Thread | None = None
        self._reader: threading.Thread | None = None
        self._errors: list[str] = []
        self._reply: dict[str, Any] | None = None
        self._replied = threading.Event()
        self._trials_sent = self._trials_written = 0
        self._store_down = False  # then what is queued goes to the journal at the close, and costs no reserve
        self._close_by = 0.0  # the wall-clock time by which the writer answers "close"
        self._slow_grace_s = NO_BUDGET_SLOW_GRACE_S  # set from the job's budget by start()
        self._finish_s = FINISH_RESERVE_S  # set from the kind of store by start()
        self.journal: str | None = None  # where the writer kept what it could not write by then
        self.write_seconds: dict[str, float] = {}  # the writer's seconds per kind of message, as acknowledged
        self._assumed_trial_write_s = LOCAL_TRIAL_WRITE_S

    @property
    def finish_reserve_s(self) -> float:  # type: ignore[override]
        """Seconds the close needs: the trial runs still queued at the writer's measured pace (assumed by the kind
        of store until it is measured), and the final logging, scaled by that pace against the assumed one
        (:data:`MAX_FINISH_PACE` at most). The writer starts while the search runs, so its start costs the
        budget nothing unless the budget is shorter than the start."""
        backlog = 0 if self._store_down else max(0, self._trials_sent - self._trials_written)
        written = self._trials_written
        per_trial = self.write_seconds["write_trial"] / written if written else self._assumed_trial_write_s
        pace = min(MAX_FINISH_PACE, max(1.0, per_trial / self._assumed_trial_write_s))
        return self._finish_s * pace + backlog * per_trial

    def model_write_s(self, model_mb: float) -> float:
        return model_mb / MODEL_WRITE_MB_PER_S

    def start(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        scheme = (self.requested_uri or os.environ.get("MLFLOW_TRACKING_URI") or "").partition("://")[0]
        self._assumed_trial_write_s = DEFAULT_TRIAL_WRITE_S.get(scheme, LOCAL_TRIAL_WRITE_S)
        remote, budget = scheme in REMOTE_SCHEMES, params.get("time_budget")
        self._finish_s = REMOTE_FINISH_RESERVE_S if remote else FINISH_RESERVE_S
        self._slow_grace_s = (SLOW_STORE_GRACE_SHARE * float(budget) + SLOW_STORE_GRACE_S if remote and budget is not None
                              else NO_BUDGET_SLOW_GRACE_S)
        self._process = writer_process(self.requested_uri, self.experiment)
        self._feeder = threading.Thread(target=self._feed, name="automl-mlflow-feeder", daemon=True)
        self._feeder.start()
        self._reader = threading.Thread(target=self._read_replies, name="automl-mlflow-replies", daemon=True)
        self._reader.start()
        self._send("open", params, {JOB_UUID_TAG: uuid.uuid4().hex, **tags})

    def log_trial(self, trial: Trial, strategy: str) -> None:
        self._trials_sent += 1
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

    def end(self, failed: bool = False, interrupted: bool = False, reason: str | None = None,
            deadline: float | None = None) -> None:
        if self._process is None:
            return
        self._send("terminate", failed, INTERRUPTED if interrupted else reason)
        self._close_by = time.time() + self._write_window(deadline, interrupted)
        self._queue.put(None)
        wait_s = INTERRUPTED_WAIT_S if interrupted else self._close_by - time.time() + self._slow_grace_s + REPLY_GRACE_S
        started = time.monotonic()
        if self._feeder is not None:
            self._feeder.join(timeout=wait_s)
        reply = self._collect(max(0.0, wait_s - (time.monotonic() - started)), kill=not interrupted)
        if not interrupted:
            keep_a_spare()  # the next job of this process finds its writer's imports done
        self.run_id, self.model_uri = reply.get("run_id"), reply.get("model_uri")
        self.registered_uri = reply.get("registered_uri")
        self.tracking_uri = reply.get("tracking_uri") or self.tracking_uri
        self._errors += reply.get("errors", [])
        self.journal = reply.get("journal")
        if reply.get("unwritten_trials") or reply.get("unwritten"):
            self._warn_unwritten(reply)
        if self._errors:
            logger.warning("MLflow tracking at %s had %d error(s); first: %s", self.tracking_uri, len(self._errors), self._errors[0])
            warnings.warn(
                f"MLflow tracking failed ({self._errors[0]}); the model is fitted but not fully recorded.",
                RuntimeWarning, stacklevel=3,
            )

    def _write_window(self, deadline: float | None, interrupted: bool) -> float:
        """Seconds the writer has to write what is queued before it keeps the rest in its journal: until the budget's
        ``deadline`` (monotonic), else long enough for the backlog at its measured pace, at least a few seconds."""
        if interrupted:
            return INTERRUPTED_WRITE_S
        if deadline is not None:
            return max(MIN_WRITE_WINDOW_S, deadline - time.monotonic())
        return max(NO_BUDGET_WRITE_S, 3 * self.finish_reserve_s)

    def _warn_unwritten(self, reply: dict[str, Any]) -> None:
        """One sentence: what the store has not got, where it is kept, and the command that writes it."""
        parts = [f"{reply['unwritten_trials']} trial run(s)"] if reply.get("unwritten_trials") else []
        parts += ["the job's result" if "write_result" in reply.get("unwritten", []) else "the job's end"]
        where = reply.get("journal")
        keep = (f"kept in {where}: run `automl sync {where}` once the store is back" if where
                else "lost: no journal could be written")
        logger.warning("MLflow at %s could not be written in time: %s %s not recorded yet, %s.",
                       self.requested_uri or self.tracking_uri or "the default store", " and ".join(parts),
                       "are" if len(parts) > 1 else "is", keep)

    # -- internals -----------------------------------------------------------
    def _send(self, method: str, *args: Any) -> None:
        self._queue.put((method, args))

    def _feed(self) -> None:
        """Stream queued messages to the writer; pickling happens here, off the search loop."""
        assert self._process is not None and self._process.stdin is not None  # set in start()
        stream = self._process.stdin
        try:
            while (message := self._queue.get()) is not None:
                try:
                    write_frame(stream, message)
                except UnpicklableMessage as exc:  # that message is lost, the others still go
                    self._errors.append(str(exc))
                if self._queue.empty():
                    stream.flush()
            write_frame(stream, ("close", (self._close_by, self._slow_grace_s)))
            stream.close()
        except (BrokenPipeError, OSError, pickle.PicklingError) as exc:
            self._errors.append(f"{type(exc).__name__}: {exc}")

    def _read_replies(self) -> None:
        """Count the writer's acknowledgements (``("ack", method, seconds)``) until its ``("reply", dict)``."""
        assert self._process is not None and self._process.stdout is not None  # set in start()
        try:
            while True:
                kind, *body = pickle.load(self._process.stdout)
                if kind == "reply":
                    self._reply = body[0]
                    return
                if kind == "store":
                    self._store_down = not body[0]
                    continue
                method, seconds = body
                self.write_seconds[method] = self.write_seconds.get(method, 0.0) + seconds
                if method == "write_trial":
                    self._trials_written += 1
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            return
        finally:
            self._replied.set()

    def _collect(self, timeout_s: float, kill: bool) -> dict[str, Any]:
        """The writer's answer within ``timeout_s``; without one, the writer is killed, or (``kill=False``,
        after Ctrl-C) left to finish its writes on its own."""
        assert self._process is not None  # set in start()
        answered = self._replied.wait(timeout_s)
        if answered and self._reply is not None:
            try:
                self._process.wait(timeout=timeout_s if kill else INTERRUPTED_WAIT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
            return self._reply
        if kill or answered:
            self._process.kill()
            reason = "it ended without an answer" if answered else f"no answer in {timeout_s:.0f}s"
            return {"errors": [f"the MLflow writer process stopped: {reason}"]}
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
