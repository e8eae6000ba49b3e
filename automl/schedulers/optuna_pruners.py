"""Median stopping and ASHA through Optuna's pruners, on an in-memory ledger of intermediate values.

Optuna's ``MedianPruner`` and ``SuccessiveHalvingPruner`` (asynchronous successive
halving) decide; this module only maps the product's trials onto Optuna trials,
whatever strategy proposed them.

Trials are compared within their estimator family (one ledger per family): which
family to try is the strategy's decision, the rungs only stop configurations
that are worse than their own family's. Across families, on the bundled sets
ASHA let 1 trial in 36 finish (the best LightGBM), so the job never had two
finished families to ensemble; within families each family's best runs to the end.
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
        self._studies: dict[str, optuna.Study] = {}  # one ledger per estimator family
        self._trials: dict[int, tuple[optuna.Study, optuna.Trial]] = {}

    def make_pruner(self) -> optuna.pruners.BasePruner:
        raise NotImplementedError

    def start(self, trial_id: int, family: str = "") -> None:
        study = self._studies.get(family)
        if study is None:
            with quiet_optuna():
                # a fixed name: Hyperband assigns trials to brackets by a hash of the study's name (random otherwise)
                study = self._studies[family] = optuna.create_study(direction="minimize", pruner=self.make_pruner(),
                                                                    study_name=f"automl-{family or 'trials'}")
        self._trials[trial_id] = (study, study.ask())

    def report(self, trial_id: int, step: int, value: float) -> bool:
        entry = self._trials.get(trial_id)
        if entry is None or not math.isfinite(value):
            return False
        trial = entry[1]
        trial.report(value, step)
        return trial.should_prune()

    def finish(self, trial_id: int, status: str, loss: float | None) -> None:
        entry = self._trials.pop(trial_id, None)
        if entry is None:
            return
        study, trial = entry
        with quiet_optuna():  # Optuna logs each told trial at INFO
            if status == OK and loss is not None and math.isfinite(loss):
                study.tell(trial, loss)
            elif status == PRUNED:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)


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


class Hyperband(OptunaPrunerScheduler):
    """Hyperband: several successive-halving brackets of different aggressiveness (Optuna's HyperbandPruner);
    the largest step seen in finished trials is the full resource."""

    name = "hyperband"

    def __init__(self, min_resource: int = 1, reduction_factor: int = 3) -> None:
        self.min_resource, self.reduction_factor = min_resource, reduction_factor
        super().__init__()

    def make_pruner(self) -> optuna.pruners.BasePruner:
        return optuna.pruners.HyperbandPruner(min_resource=self.min_resource, max_resource="auto",
                                              reduction_factor=self.reduction_factor)
