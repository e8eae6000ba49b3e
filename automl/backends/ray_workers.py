"""Ray actors: long-lived trial workers holding the data, and one shared early-stopping scheduler.

Workers are reused across trials, so a trial costs one actor method call
(well under a millisecond of Ray overhead) instead of a process start. The
data reaches each worker once, as an object-store reference resolved when
the worker is created.
"""

from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import replace
from typing import Any

from automl.backends.ray_cluster import import_ray
from automl.objective import Objective
from automl.schedulers import Scheduler
from automl.study import Trial, TrialResult, for_transport

ray = import_ray()


class SchedulerActor:
    """Holds the job's scheduler, so every worker's reports meet the same rungs (ASHA) or medians."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def start(self, trial_id: int, family: str = "") -> None:
        self.scheduler.start(trial_id, family)

    def report(self, trial_id: int, step: int, value: float) -> bool:
        return self.scheduler.report(trial_id, step, value)

    def finish(self, trial_id: int, status: str, loss: float | None) -> None:
        self.scheduler.finish(trial_id, status, loss)


class RemoteScheduler(Scheduler):
    """A worker's view of the shared scheduler: reports wait for the decision, the rest is fire-and-forget.

    Calls from one worker reach the actor in order, so a trial's start always
    precedes its reports.
    """

    def __init__(self, handle: Any, name: str) -> None:
        self.handle, self.name = handle, name

    def start(self, trial_id: int, family: str = "") -> None:
        self.handle.start.remote(trial_id, family)

    def report(self, trial_id: int, step: int, value: float) -> bool:
        return bool(ray.get(self.handle.report.remote(trial_id, step, value)))

    def finish(self, trial_id: int, status: str, loss: float | None) -> None:
        self.handle.finish.remote(trial_id, status, loss)


class TrialWorker:
    """Evaluates trials on the data it received once; uses exactly the threads and GPU it was given."""

    def __init__(self, objective: Objective, scheduler: Any, scheduler_name: str, threads: int, gpu: bool) -> None:
        if not gpu:
            os.environ["CUDA_VISIBLE_DEVICES"] = ""  # Ray leaves GPUs visible to workers that asked for none
        remote = RemoteScheduler(scheduler, scheduler_name) if scheduler is not None else Scheduler()
        self.objective = replace(objective, scheduler=remote, n_jobs=threads, device="cuda" if gpu else "cpu")
        self.name = f"{os.getpid()}@{socket.gethostname()}"

    def identity(self) -> str:
        """``pid@host``: where this worker runs (recorded on each trial)."""
        return self.name

    def evaluate(self, trial: Trial, seconds_left: float | None, keep_model_below: float,
                 keep_oof_below: float = math.inf) -> TrialResult:
        """Run ``trial`` with its own deadline ``seconds_left`` from now (clocks differ between machines).

        The fitted model travels back only when the loss beats ``keep_model_below`` (the best loss when the
        trial was sent), since only a new best needs it; its out-of-fold predictions only when the loss beats
        ``keep_oof_below`` (what the driver's store would keep).
        """
        deadline = None if seconds_left is None else time.monotonic() + seconds_left
        result = self.objective(trial, deadline)
        return for_transport(result, keep_model_below, keep_oof_below)

    def fit_all_rows(self, trial: Trial, seconds_left: float | None, device: str) -> tuple[Any, bool]:
        """``trial`` refitted on all rows (an ensemble's member) on ``device`` (the job's, as a refit in the driver
        would: a member that trained on a worker's GPU keeps its GPU limits), by ``seconds_left`` from now;
        ``False`` if it stopped early."""
        deadline = None if seconds_left is None else time.monotonic() + seconds_left
        return replace(self.objective, device=device).fit_all_rows(trial, deadline)


RemoteSchedulerActor = ray.remote(num_cpus=0)(SchedulerActor)
RemoteTrialWorker = ray.remote(TrialWorker)
