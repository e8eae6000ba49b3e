"""Trials in a reused child process, killed and replaced when a trial outlives its limit or the process dies.

With ``memory_limit_mb`` the in-process backend runs its trials in one child process at a time, started
from multiprocessing's fork server (a process that never ran a fit: a child forked from a parent whose
OpenMP pool is running hangs in its first LightGBM fit). The child receives the objective once
(cloudpickle: a custom metric defined in a notebook travels by value), caps its data segment at
``memory_limit_mb`` (``RLIMIT_DATA``: an allocation past it fails inside the trial, which is recorded as
failed with a MemoryError), and evaluates trial after trial. The parent waits for each result up to the
trial's limit; a trial past it is recorded as failed, its process killed and a new one started for the
next trial; a child that dies (the out-of-memory killer, a crash in native code) costs only its trial.

Early-stopping decisions stay in the parent (one scheduler for the job): the child's reports travel over
the pipe and wait for the answer, as Ray workers' reports reach the scheduler actor.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import time
from dataclasses import is_dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from automl.schedulers import Scheduler
from automl.study import FAILED, Trial, TrialResult, for_transport

logger = logging.getLogger(__name__)
#: Modules the fork server imports once, so that each child starts without importing them again.
PRELOAD = ["automl.objective", "automl.estimators", "sklearn.linear_model", "lightgbm", "xgboost"]


def process_isolation_available() -> bool:
    """Trials can run in children of a fork server (POSIX; not on Windows)."""
    return "forkserver" in multiprocessing.get_all_start_methods()


class PipeScheduler(Scheduler):
    """The child's view of the parent's scheduler: every call goes over the pipe, reports wait for the answer."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn, self.name = conn, name

    def start(self, trial_id: int, family: str = "") -> None:
        self.conn.send(("start", trial_id, family))

    def report(self, trial_id: int, step: int, value: float) -> bool:
        self.conn.send(("report", trial_id, step, value))
        return bool(self.conn.recv())

    def finish(self, trial_id: int, status: str, loss: float | None) -> None:
        self.conn.send(("finish", trial_id, status, loss))


def _serve(conn: Connection, memory_limit_mb: int | None) -> None:
    """The child: receive the objective, then evaluate each trial sent and send back its result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills this process
    objective = cloudpickle.loads(conn.recv_bytes())
    objective = _with_scheduler(objective, PipeScheduler(conn, getattr(objective, "scheduler", Scheduler()).name))
    if memory_limit_mb is not None:
        import resource

        limit = int(memory_limit_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    while True:
        try:
            trial, deadline, keep_model_below, keep_oof_below = conn.recv()
        except EOFError:
            return
        result = objective(trial, deadline)
        result = for_transport(result, keep_model_below, keep_oof_below)
        try:
            conn.send(("result", result))
        except MemoryError:
            conn.send(("result", TrialResult(FAILED, error="MemoryError: the trial's result did not fit memory_limit_mb")))


def _with_scheduler(objective: Any, scheduler: Scheduler) -> Any:
    """``objective`` reporting to ``scheduler`` (an ``Objective``; any other callable as it is)."""
    return replace(objective, scheduler=scheduler) if is_dataclass(objective) and hasattr(objective, "scheduler") else objective


class TrialProcess:
    """One child process at a time evaluating ``objective``'s trials; replaced when a trial hangs or it dies."""

    def __init__(self, objective: Any, memory_limit_mb: int | None = None) -> None:
        self.objective, self.memory_limit_mb = objective, memory_limit_mb
        self.scheduler: Scheduler = getattr(objective, "scheduler", Scheduler())  # the job's, in this process
        self._payload = cloudpickle.dumps(_with_scheduler(objective, Scheduler()))
        self._process: Any = None
        self._conn: Connection | None = None
        self.replaced = 0  # children killed or found dead (one per lost trial)

    def _child(self) -> Connection:
        if self._process is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            parent, child = context.Pipe()
            self._process = context.Process(target=_serve, args=(child, self.memory_limit_mb), daemon=True,
                                            name="automl-trial")
            self._process.start()
            child.close()
            parent.send_bytes(self._payload)
            self._conn = parent
        assert self._conn is not None
        return self._conn

    def evaluate(self, trial: Trial, deadline: float | None, limit_s: float | None, keep_model_below: float,
                 keep_oof_below: float = math.inf) -> TrialResult:
        """Run ``trial`` in the child; past ``limit_s`` seconds (None: no limit) it is killed and recorded as failed."""
        conn = self._child()
        hard_end = math.inf if limit_s is None else time.monotonic() + limit_s
        scheduler = self.scheduler
        running: set[int] = set()
        conn.send((trial, deadline, keep_model_below, keep_oof_below))
        while True:
            wait = None if math.isinf(hard_end) else max(0.0, hard_end - time.monotonic())
            try:
                message = conn.recv() if conn.poll(wait) else None
            except (EOFError, OSError):
                return self._lost(trial, running, self._death_reason())
            if message is None:
                return self._lost(trial, running, f"still running {limit_s:.1f} s after it started, past its time "
                                                  "limit; its process was killed")
            kind = message[0]
            if kind == "start":
                running.add(message[1])
                scheduler.start(message[1], message[2])
            elif kind == "report":
                conn.send(scheduler.report(*message[1:]))
            elif kind == "finish":
                running.discard(message[1])
                scheduler.finish(*message[1:])
            else:
                return message[1]

    def _lost(self, trial: Trial, running: set[int], reason: str) -> TrialResult:
        """The child is killed (or already dead): the trial failed with ``reason``; the next trial gets a new child."""
        self.close()
        self.replaced += 1
        for trial_id in running:
            self.scheduler.finish(trial_id, FAILED, None)
        logger.warning("Trial %d (%s) failed: %s.", trial.trial_id, trial.estimator, reason)
        return TrialResult(FAILED, error=reason)

    def _death_reason(self) -> str:
        process = self._process
        if process is not None:
            process.join(timeout=2.0)
        code = None if process is None else process.exitcode
        if code == -signal.SIGKILL:
            return "its process was killed (SIGKILL: the out-of-memory killer?)"
        return f"its process died (exit code {code})"

    def close(self) -> None:
        """Kill the child, if any (the job's end, a hung trial, Ctrl-C)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        process, self._process = self._process, None
        if process is not None:
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
            process.join(timeout=5.0)
