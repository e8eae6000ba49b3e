"""Evaluate one configuration: build, fit on each fold, report intermediate losses, score, keep the predictions."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from automl.constraints import Constraints, measure
from automl.estimators import BuildContext, EstimatorAdapter
from automl.fitdata import Fold
from automl.metrics import CustomMetric, Metric
from automl.monitor import RoundMonitor
from automl.oof import OutOfFold
from automl.row_fidelity import RowSampler, ledger
from automl.schedulers import Scheduler
from automl.sparse import take_rows
from automl.study import FAILED, INFEASIBLE, OK, PRUNED, TIMEOUT, Trial, TrialResult
from automl.tasks import Task

logger = logging.getLogger(__name__)
BUDGET_STOP = "stopped at the time budget"


@dataclass
class AllRows:
    """Every training row, transformed by the feature transform fitted on all of them (the final refit's data)."""

    X: pd.DataFrame
    y: np.ndarray
    categorical: tuple[str, ...] = ()
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # every row's groups / weights, ...: FitData.row_arrays


@dataclass
class Objective:
    """Scores configurations on prepared folds (features learned on each fold's training rows).

    Intermediate losses go to ``scheduler``: the running mean over folds
    (cross-validation), or the validation loss at boosting rounds 4, 8, 16, ...
    (holdout). A trial with ``rows`` fits that many of a holdout fold's training
    rows (``automl.row_fidelity``).
    """

    task: Task
    folds: list[Fold]
    all_rows: AllRows
    metric: Metric | CustomMetric
    adapters: dict[str, EstimatorAdapter]
    n_classes: int
    n_jobs: int
    scheduler: Scheduler = field(default_factory=Scheduler)
    device: str = "cpu"  # "cuda" on a worker that was given a GPU
    build_options: dict[str, Any] = field(default_factory=dict)  # the task's (forecasting: season, horizon)
    #: The longest fold fit seen per family, for families whose fit cannot be stopped at the deadline.
    slowest_fold_s: dict[str, float] = field(default_factory=dict)
    constraints: Constraints | None = None  # deployment limits: an ok trial's model is measured against them
    transform_cost: dict[str, float] = field(default_factory=dict)  # the feature transform's latency, added to each
    _samplers: dict[int, RowSampler] = field(default_factory=dict, repr=False)  # per fold: its nested subsamples

    def __call__(self, trial: Trial, deadline: float | None) -> TrialResult:
        self.scheduler.start(trial.trial_id, ledger(trial.estimator, trial.rows))
        result = self._evaluate(trial, deadline)
        self.scheduler.finish(trial.trial_id, result.status, result.loss)
        return result

    @property
    def train_rows(self) -> float:
        """Mean training rows of one fold's fit."""
        return float(np.mean([len(f.train_rows) for f in self.folds]))

    def fit_all_rows(self, trial: Trial, deadline: float | None, rows: int | None = None) -> tuple[Any, bool]:
        """Build ``trial``'s configuration and fit it on every row (the final refit), or on the first ``rows`` of the
        nested subsamples of all rows; ``False`` if it stopped early.

        The refit keeps the limits of the device the trial trained on (a GPU trial's caps), so the shipped
        model is the configuration that was scored.
        """
        adapter = self.adapters[trial.estimator]
        context = self._context(trial.seed, self.all_rows.categorical, gpu_limits=_on_gpu(trial.device))
        model = adapter.build(trial.config, context)
        X, y, extras = self.all_rows.X, self.all_rows.y, self.all_rows.extras
        if rows is not None and rows < len(y):
            pick = RowSampler(y, classes=self.n_classes > 0).take(rows)
            X, y, extras = take_rows(X, pick), y[pick], {name: values[pick] for name, values in extras.items()}
        with threadpool_limits(limits=self.n_jobs):
            return model, adapter.fit(model, X, y, deadline, extras=extras)

    def drop_training_copies(self) -> None:
        """Free each fold's transformed training rows once the search is over: the refits fit all rows, and the
        validation rows stay (a shipped model is measured on them). On 750,000 rows x 21 columns: 113 MB less at
        the refits' peak."""
        for fold in self.folds:
            fold.X_train = None

    def _context(self, seed: int, categorical: tuple[str, ...], gpu_limits: bool = False) -> BuildContext:
        return BuildContext(self.task.estimator_kind, self.n_classes, self.n_jobs, seed, categorical, self.device,
                            gpu_limits=gpu_limits, options=self.build_options)

    def _evaluate(self, trial: Trial, deadline: float | None) -> TrialResult:
        adapter = self.adapters[trial.estimator]
        scores: list[float] = []
        logged: list[dict[str, float]] = []
        fit_times: list[float] = []
        reports: list[tuple[int, float]] = []
        rows: list[np.ndarray] = []
        outputs: list[np.ndarray] = []
        model: Any = None

        def stopped_early(status: str, reason: str) -> TrialResult:
            return TrialResult(status, fit_time_s=float(np.mean(fit_times or [0.0])), error=reason, intermediate=reports)

        def on_value(step: int, value: float) -> bool:
            reports.append((step, value))
            return self.scheduler.report(trial.trial_id, step, value)

        try:
            with threadpool_limits(limits=self.n_jobs):
                for fold in self.folds:
                    if self._would_overrun(adapter, trial.estimator, deadline, self._share(fold, trial.rows)):
                        return stopped_early(TIMEOUT, BUDGET_STOP)
                    X_train, y_train, side, share = self._training_rows(fold, trial.rows)
                    model = adapter.build(trial.config, self._context(trial.seed, fold.categorical))
                    monitor = self._round_monitor(fold, on_value)
                    started = time.perf_counter()
                    completed = adapter.fit(model, X_train, y_train, deadline, monitor, side)
                    fit_times.append(time.perf_counter() - started)
                    self.slowest_fold_s[trial.estimator] = max(fit_times[-1] / share,  # as if on all the fold's rows
                                                               self.slowest_fold_s.get(trial.estimator, 0.0))
                    if monitor is not None and monitor.stopped:
                        return stopped_early(PRUNED, f"stopped by {self.scheduler.name} at round {reports[-1][0]}")
                    if not completed:
                        return self._cut_at_deadline(trial, model, fold, scores, fit_times, reports)
                    output = self.task.predict_output(model, fold.X_val, self.n_classes)
                    value, logs = self.task.score(self.metric, model, output, fold, trial.config)
                    rows.append(fold.val_rows)
                    outputs.append(output)
                    scores.append(value)
                    logged.append(logs)
                    if len(self.folds) > 1 and fold.index + 1 < len(self.folds):
                        running = self.metric.loss(float(np.nanmean(scores)))
                        if on_value(fold.index + 1, running) and getattr(adapter, "prunable", True):
                            return stopped_early(PRUNED, f"stopped by {self.scheduler.name} after fold {fold.index + 1}")
                        if deadline is not None and time.monotonic() > deadline:
                            return stopped_early(TIMEOUT, BUDGET_STOP)
        except Exception as exc:  # noqa: BLE001 - a failing trial is recorded, the search goes on
            logger.debug("trial %s failed:\n%s", trial.trial_id, traceback.format_exc())
            return TrialResult(FAILED, error=f"{type(exc).__name__}: {exc}", fit_time_s=float(np.mean(fit_times or [0.0])),
                               intermediate=reports)
        finite = [s for s in scores if np.isfinite(s)]
        score = float(np.mean(finite)) if finite else float("nan")  # a fold without a score (one class) is skipped
        names = dict.fromkeys(k for d in logged for k in d)  # a key logged by some folds only (one window's score)
        metrics = {k: float(np.mean([d[k] for d in logged if k in d])) for k in names}
        size = adapter.size_mb(model)
        if size is not None:  # what shipping it would take: automl.tuning's record_estimate
            metrics["model_mb_estimate"] = size
        status, broken = OK, None
        if self.constraints is not None:
            measured = self.measure_model(model)
            metrics.update(measured)
            if self.constraints.broken(measured):
                status, broken = INFEASIBLE, "breaks the constraints: " + ", ".join(self.constraints.broken(measured))
        return TrialResult(status, score, self.metric.loss(score), metrics, float(np.mean(fit_times)),
                           error=broken, model=model, intermediate=reports,
                           device=self._device_used(trial, adapter, model), oof=OutOfFold.of(rows, outputs))

    def measure_model(self, model: Any) -> dict[str, float]:
        """A fold model's latencies (the feature transform's added) and size, as ``constraints`` judge them."""
        assert self.constraints is not None
        with threadpool_limits(limits=self.n_jobs):
            measured = measure(lambda X: self.task.predict_output(model, X, self.n_classes), model,
                               self.folds[-1].X_val, self.constraints.batch_rows, take_rows)
        return {k: v + self.transform_cost.get(k, 0.0) for k, v in measured.items()}

    def _would_overrun(self, adapter: EstimatorAdapter, family: str, deadline: float | None, share: float = 1.0) -> bool:
        """A fit that cannot be stopped, expected (from the family's slowest fold so far, times ``share`` of its rows)
        to end past the deadline."""
        if adapter.stops_at_deadline or deadline is None or family not in self.slowest_fold_s:
            return False
        return time.monotonic() + share * self.slowest_fold_s[family] > deadline

    def _training_rows(self, fold: Fold, rows: int | None) -> tuple[Any, np.ndarray, dict[str, np.ndarray], float]:
        """The rows a trial fits on ``fold``: all its training rows, or the first ``rows`` of its nested subsamples
        (``automl.row_fidelity``); with their per-row arrays and their share of the fold's rows."""
        if rows is None or rows >= len(fold.train_rows):
            return fold.X_train, fold.y_train, fold.side("train"), 1.0
        if fold.index not in self._samplers:
            self._samplers[fold.index] = RowSampler(fold.y_train, classes=self.n_classes > 0)
        pick = self._samplers[fold.index].take(rows)
        side = {name: values[pick] for name, values in fold.side("train").items()}
        return take_rows(fold.X_train, pick), fold.y_train[pick], side, self._share(fold, rows)

    @staticmethod
    def _share(fold: Fold, rows: int | None) -> float:
        return 1.0 if rows is None else min(1.0, rows / len(fold.train_rows))

    def _cut_at_deadline(self, trial: Trial, model: Any, fold: Fold, scores: list[float], fit_times: list[float],
                         reports: list[tuple[int, float]]) -> TrialResult:
        """A fit the deadline stopped (fewer rounds or trees) is still a model: scored on its fold with the folds
        before it, it is the job's fallback when no trial finished (a short budget on a busy machine)."""
        try:
            output = self.task.predict_output(model, fold.X_val, self.n_classes)
            value, _ = self.task.score(self.metric, model, output, fold, trial.config)
        except Exception:  # noqa: BLE001 - a model with nothing fitted yet: no fallback from this trial
            value = float("nan")
        finite = [s for s in [*scores, value] if np.isfinite(s)]
        score = float(np.mean(finite)) if finite else None
        return TrialResult(TIMEOUT, score, None if score is None else self.metric.loss(score),
                           fit_time_s=float(np.mean(fit_times or [0.0])), error=BUDGET_STOP, intermediate=reports,
                           model=model if score is not None else None, model_fold=fold.index)

    def _device_used(self, trial: Trial, adapter: EstimatorAdapter, model: Any) -> str:
        """Where the model trained; a trial given a GPU that trained on the CPU is said out loud."""
        device = adapter.trained_on(model) or ""
        if self.device != "cpu" and device and not _on_gpu(device):
            logger.warning("Trial %s (%s) was given a GPU but trained on %s; check that the family's GPU build is installed.",
                           trial.trial_id, trial.estimator, device)
        return device

    def _round_monitor(self, fold: Fold, on_value: Any) -> RoundMonitor | None:
        """Boosting rounds are reported on a holdout split only (folds are the steps under CV)."""
        if len(self.folds) > 1 or isinstance(self.metric, CustomMetric):
            return None
        return RoundMonitor(self.task, self.metric, fold, on_value)


def _on_gpu(device: str) -> bool:
    return device.startswith(("cuda", "gpu"))


def align_proba(proba: np.ndarray, model: Any, n_classes: int) -> np.ndarray:
    """Probabilities in float64 with rows that sum to 1, widened to all classes when a training fold lacked some.

    XGBoost's are float32, whose rows miss 1 by up to 1e-7: scikit-learn's log_loss warned on every such trial.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape[1] != n_classes:
        classes = np.asarray(getattr(model, "classes_", np.arange(proba.shape[1])), dtype=int)
        full = np.zeros((proba.shape[0], n_classes))
        full[:, classes] = proba
        proba = full
    sums = proba.sum(axis=1, keepdims=True)
    return np.divide(proba, sums, out=np.zeros_like(proba), where=sums > 0)
