"""The ledger of trials: the one place that changes trial state."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.oof import OutOfFold, OutOfFoldStore
from automl.records import FAILED, INFEASIBLE, OK, PRUNED, RUNNING, TIMEOUT, Trial, leaderboard

__all__ = ["FAILED", "INFEASIBLE", "OK", "PRUNED", "RUNNING", "TIMEOUT", "Study", "Suggestion", "Trial", "TrialResult", "for_transport", "trial_seed"]


@dataclass
class Suggestion:
    """A configuration proposed by a strategy; ``token`` is the strategy's own handle."""

    estimator: str
    config: dict[str, Any]
    token: Any = None
    rows: int | None = None  # training rows to fit, where the strategy chose a subsample (automl.row_fidelity)


@dataclass
class TrialResult:
    """What evaluating one configuration produced."""

    status: str
    score: float | None = None
    loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    fit_time_s: float = 0.0
    error: str | None = None
    model: Any = None  # the last fold's fitted model, kept for the best trial only
    model_fold: int = -1  # the index of the fold ``model`` was fitted on (-1: the last)
    intermediate: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) reports
    duration_s: float | None = None  # a replayed trial's recorded duration (otherwise measured)
    started_at: float | None = None  # and its recorded start
    device: str = ""  # where the model trained, where the family can tell ("cpu", "cuda", ...)
    oof: OutOfFold | None = None  # its predictions for the validation rows (ok trials)


def for_transport(result: TrialResult, keep_model_below: float, keep_oof_below: float) -> TrialResult:
    """``result`` as a worker sends it back: the fitted model only when the loss beats ``keep_model_below`` (only a
    new best, or the deadline's fallback, needs it), the out-of-fold predictions only when it beats
    ``keep_oof_below`` (what the job's store would keep); see :meth:`Study.keep_bounds`."""
    beats = lambda bound: result.loss is not None and result.loss < bound  # noqa: E731
    if result.model is not None and not beats(keep_model_below):
        result.model = None
    if result.oof is not None and not beats(keep_oof_below):
        result.oof = None
    return result


def trial_seed(seed: int, trial_id: int) -> int:
    """Per-trial seed derived from the user's seed."""
    return int(np.random.SeedSequence([seed, trial_id]).generate_state(1)[0] % (2**31 - 1))


class Study:
    """Trials in the order they were asked, the best one so far, and the best trials' out-of-fold predictions."""

    def __init__(self, seed: int, oof: OutOfFoldStore | None = None) -> None:
        self.seed = seed
        self.trials: list[Trial] = []
        self.best: Trial | None = None
        self.best_model: Any = None  # the best trial's fold model (on the last fold)
        #: the best trial cut by the deadline that left a scored model, the model and the index of its fold
        self.fallback: tuple[Trial, Any, int] | None = None
        self.oof = oof if oof is not None else OutOfFoldStore()
        self.unstarted_reason: str | None = None  # why a backend started no trial at all (Ray workers not up in time)
        self.n_finished = 0

    def start(self, suggestion: Suggestion) -> Trial:
        trial_id = len(self.trials)
        trial = Trial(trial_id, suggestion.estimator, dict(suggestion.config), trial_seed(self.seed, trial_id),
                      rows=suggestion.rows)
        trial.started_at = time.time()
        self.trials.append(trial)
        return trial

    def finish(self, trial: Trial, result: TrialResult) -> Trial:
        """Record ``result``; a non-finite loss turns an ok trial into a failure."""
        if result.started_at is not None:
            trial.started_at = result.started_at
        trial.duration_s = result.duration_s if result.duration_s is not None else time.time() - trial.started_at
        trial.status, trial.metrics, trial.fit_time_s = result.status, result.metrics, result.fit_time_s
        trial.score, trial.loss, trial.error = result.score, result.loss, result.error
        trial.intermediate = list(result.intermediate)
        trial.device = result.device
        trial.finished_nth, trial.asked_before = self.n_finished, len(self.trials)
        self.n_finished += 1
        if trial.status == OK and (trial.loss is None or not math.isfinite(trial.loss)):
            trial.status, trial.error = FAILED, f"non-finite score {trial.score!r}"
        if trial.status == OK:
            if result.oof is not None:
                self.oof.offer(trial.trial_id, trial.loss, result.oof)  # type: ignore[arg-type]
            if self.best is None or trial.loss < self.best.loss:  # type: ignore[operator]
                self.best, self.best_model = trial, result.model
        elif trial.status == TIMEOUT and result.model is not None and trial.loss is not None and math.isfinite(trial.loss):
            if self.fallback is None or trial.loss < self.fallback[0].loss:  # type: ignore[operator]
                self.fallback = (trial, result.model, result.model_fold)
        return trial

    def __getstate__(self) -> dict[str, Any]:
        """Saved without the kept out-of-fold predictions (they serve the job, not the saved model)."""
        return {**self.__dict__, "oof": OutOfFoldStore(self.oof.keep, self.oof.max_bytes)}

    def keep_bounds(self) -> tuple[float, float]:
        """The losses a trial run elsewhere must beat to send back its model and its out-of-fold predictions."""
        best = self.best.loss if self.best is not None and self.best.loss is not None else math.inf
        return best, self.oof.threshold()

    def count(self, status: str | None = None) -> int:
        return sum(1 for t in self.trials if status is None or t.status == status)

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first: ok trials by loss, then pruned, cut by the time budget, then failed."""
        return leaderboard(self.trials)
