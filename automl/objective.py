"""Evaluate one configuration: build, fit on each split, report intermediate losses, score, aggregate."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from automl.estimators import BuildContext, EstimatorAdapter
from automl.metrics import CustomMetric, Metric
from automl.monitor import RoundMonitor
from automl.schedulers import Scheduler
from automl.study import FAILED, OK, PRUNED, Trial, TrialResult
from automl.validation import Split

logger = logging.getLogger(__name__)
BUDGET_STOP = "stopped at the time budget"


@dataclass
class Objective:
    """Scores configurations on fixed splits of preprocessed data.

    Intermediate losses go to ``scheduler``: the running mean over folds
    (cross-validation), or the validation loss at boosting rounds 4, 8, 16, ...
    (holdout).
    """

    X: pd.DataFrame
    y: np.ndarray
    splits: list[Split]
    metric: Metric | CustomMetric
    adapters: dict[str, EstimatorAdapter]
    task: str  # "classification" or "regression"
    n_classes: int
    n_jobs: int
    categorical_features: tuple[str, ...] = ()
    scheduler: Scheduler = field(default_factory=Scheduler)
    device: str = "cpu"  # "cuda" on a worker that was given a GPU

    def __call__(self, trial: Trial, deadline: float | None) -> TrialResult:
        self.scheduler.start(trial.trial_id)
        result = self._evaluate(trial, deadline)
        self.scheduler.finish(trial.trial_id, result.status, result.loss)
        return result

    def fit_all_rows(self, trial: Trial, deadline: float | None) -> tuple[Any, bool]:
        """Build ``trial``'s configuration and fit it on every row (the final refit); ``False`` if it stopped early."""
        adapter = self.adapters[trial.estimator]
        model = adapter.build(trial.config, self._context(trial.seed))
        with threadpool_limits(limits=self.n_jobs):
            return model, adapter.fit(model, self.X, self.y, deadline)

    def _context(self, seed: int) -> BuildContext:
        return BuildContext(self.task, self.n_classes, self.n_jobs, seed, self.categorical_features, self.device)

    def _evaluate(self, trial: Trial, deadline: float | None) -> TrialResult:
        adapter = self.adapters[trial.estimator]
        context = self._context(trial.seed)
        scores: list[float] = []
        logged: list[dict[str, float]] = []
        fit_times: list[float] = []
        reports: list[tuple[int, float]] = []
        model: Any = None

        def stopped_early(reason: str) -> TrialResult:
            return TrialResult(PRUNED, fit_time_s=float(np.mean(fit_times or [0.0])), error=reason, intermediate=reports)

        def on_value(step: int, value: float) -> bool:
            reports.append((step, value))
            return self.scheduler.report(trial.trial_id, step, value)

        try:
            with threadpool_limits(limits=self.n_jobs):
                for fold, (train, val) in enumerate(self.splits):
                    model = adapter.build(trial.config, context)
                    monitor = self._round_monitor(val, on_value)
                    started = time.perf_counter()
                    completed = adapter.fit(model, self.X.iloc[train], self.y[train], deadline, monitor)
                    fit_times.append(time.perf_counter() - started)
                    if monitor is not None and monitor.stopped:
                        return stopped_early(f"stopped by {self.scheduler.name} at round {reports[-1][0]}")
                    if not completed:
                        return stopped_early(BUDGET_STOP)
                    value, logs = self._score(model, train, val, trial.config)
                    scores.append(value)
                    logged.append(logs)
                    if len(self.splits) > 1 and fold + 1 < len(self.splits):
                        running = self.metric.loss(float(np.nanmean(scores)))
                        if on_value(fold + 1, running):
                            return stopped_early(f"stopped by {self.scheduler.name} after fold {fold + 1}")
                        if deadline is not None and time.monotonic() > deadline:
                            return stopped_early(BUDGET_STOP)
        except Exception as exc:  # noqa: BLE001 - a failing trial is recorded, the search goes on
            logger.debug("trial %s failed:\n%s", trial.trial_id, traceback.format_exc())
            return TrialResult(FAILED, error=f"{type(exc).__name__}: {exc}", fit_time_s=float(np.mean(fit_times or [0.0])), intermediate=reports)
        finite = [s for s in scores if np.isfinite(s)]
        score = float(np.mean(finite)) if finite else float("nan")  # a fold without a score (one class) is skipped
        metrics = {k: float(np.mean([d[k] for d in logged])) for k in logged[0]} if logged else {}
        return TrialResult(OK, score, self.metric.loss(score), metrics, float(np.mean(fit_times)), model=model,
                           intermediate=reports, device=self._device_used(trial, adapter, model))

    def _device_used(self, trial: Trial, adapter: EstimatorAdapter, model: Any) -> str:
        """Where the model trained; a trial given a GPU that trained on the CPU is said out loud."""
        device = adapter.trained_on(model) or ""
        if self.device != "cpu" and device and not device.startswith(("cuda", "gpu")):
            logger.warning("Trial %s (%s) was given a GPU but trained on %s; check that the family's GPU build is installed.",
                           trial.trial_id, trial.estimator, device)
        return device

    def _round_monitor(self, val: np.ndarray, on_value: Any) -> RoundMonitor | None:
        """Boosting rounds are reported on a holdout split only (folds are the steps under CV)."""
        if len(self.splits) > 1 or isinstance(self.metric, CustomMetric):
            return None
        return RoundMonitor(self.metric, self.X.iloc[val], self.y[val], self.n_classes, on_value)

    def _score(self, model: Any, train: np.ndarray, val: np.ndarray, config: dict[str, Any]) -> tuple[float, dict[str, float]]:
        return score_model(
            self.metric, model, self.X.iloc[val], self.y[val], self.n_classes, self.X.iloc[train], self.y[train], config
        )


def score_model(
    metric: Metric | CustomMetric,
    model: Any,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    n_classes: int,
    X_train: pd.DataFrame | None = None,
    y_train: np.ndarray | None = None,
    config: dict[str, Any] | None = None,
) -> tuple[float, dict[str, float]]:
    """The metric's value for a fitted estimator on preprocessed data with encoded labels, plus values to log."""
    if isinstance(metric, CustomMetric):
        labels = np.arange(n_classes) if n_classes else None
        value, logs = metric.fn(X_val, y_val, model, labels, X_train, y_train, None, None, config, None, None)
        return float(value), {k: float(v) for k, v in (logs or {}).items()}
    if metric.needs_proba:
        prediction = align_proba(np.asarray(model.predict_proba(X_val)), model, n_classes)
    else:
        prediction = model.predict(X_val)
    value = metric.fn(y_val, prediction)
    return value, {metric.name: value}


def align_proba(proba: np.ndarray, model: Any, n_classes: int) -> np.ndarray:
    """Widen probabilities to all classes when a training fold lacked some."""
    if proba.shape[1] == n_classes:
        return proba
    classes = np.asarray(getattr(model, "classes_", np.arange(proba.shape[1])), dtype=int)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, classes] = proba
    return full
