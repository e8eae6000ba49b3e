"""Median stopping and ASHA through Optuna's pruners, on an in-memory ledger of intermediate values.

Optuna's ``MedianPruner`` and ``SuccessiveHalvingPruner`` (asynchronous successive
halving) decide; this module only maps the product's trials onto Optuna trials,
whatever strategy proposed them.
"""

from __future__ import annotations

import math

import optuna

from automl.optuna_logs import quiet_optuna
from automl.schedulers.base import Scheduler
from automl.study import OK, PRUNED


class OptunaPrunerScheduler(Scheduler):
    """Feeds reports to an Optuna pruner; subclasses choose the pruner."""

    def __init__(self) -> None:
        with quiet_optuna():
            self.study = optuna.create_study(direction="minimize", pruner=self.make_pruner())
        self._trials: dict[int, optuna.Trial] = {}

    def make_pruner(self) -> optuna.pruners.BasePruner:
        raise NotImplementedError

    def start(self, trial_id: int) -> None:
        self._trials[trial_id] = self.study.ask()

    def report(self, trial_id: int, step: int, value: float) -> bool:
        trial = self._trials.get(trial_id)
        if trial is None or not math.isfinite(value):
            return False
        trial.report(value, step)
        return trial.should_prune()

    def finish(self, trial_id: int, status: str, loss: float | None) -> None:
        trial = self._trials.pop(trial_id, None)
        if trial is None:
            return
        with quiet_optuna():  # Optuna logs each told trial at INFO
            if status == OK and loss is not None and math.isfinite(loss):
                self.study.tell(trial, loss)
            elif status == PRUNED:
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)


class MedianStop(OptunaPrunerScheduler):
    """Stop a trial whose best loss so far is worse than the median of finished trials at the same step."""

    name = "median"

    def __init__(self, n_startup_trials: int = 3, n_warmup_steps: int = 0) -> None:
        self.n_startup_trials, self.n_warmup_steps = n_startup_trials, n_warmup_steps
        super().__init__()

    def make_pruner(self) -> optuna.pruners.BasePruner:
        return optuna.pruners.MedianPruner(n_startup_trials=self.n_startup_trials, n_warmup_steps=self.n_warmup_steps)


class ASHA(OptunaPrunerScheduler):
    """Asynchronous successive halving: at each rung, keep the best 1/reduction_factor of trials."""

    name = "asha"

    def __init__(self, min_resource: int = 1, reduction_factor: int = 3) -> None:
        self.min_resource, self.reduction_factor = min_resource, reduction_factor
        super().__init__()

    def make_pruner(self) -> optuna.pruners.BasePruner:
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=self.min_resource, reduction_factor=self.reduction_factor)
