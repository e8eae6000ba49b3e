"""What a fitted AutoML offers: predictions, intervals, its score, the leaderboard, ONNX export.

``FittedResults`` is the part of ``AutoML`` that uses the result of ``fit``; ``automl/api.py`` holds the
parameters and ``fit`` itself.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from automl.data import check_xy, to_frame
from automl.errors import InputError, NotFittedError
from automl.metrics import get_metric
from automl.oof import OutOfFoldStore
from automl.pareto import pareto_front


class _classification_only:  # noqa: N801 - used as a decorator
    """A method that is an attribute only of a classifier: ``hasattr`` is False otherwise, as scikit-learn's checks
    and tools expect, and using it raises ``AttributeError`` with automl's own sentence."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self.method = method
        self.__doc__ = method.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self.method
        obj._classifies()
        return types.MethodType(self.method, obj)


class FittedResults:
    """The methods of a fitted ``AutoML`` (its attributes ``pipeline_``, ``study_``, ``task_``, ... are set by fit)."""

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (original class labels for classification)."""
        return self._fitted().predict(X)

    @_classification_only
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_`` (classification only)."""
        return self._fitted().predict_proba(X)

    def _classifies(self) -> bool:
        """Whether ``task`` is a classification (else predict_proba is not an attribute, as scikit-learn expects)."""
        if self.__sklearn_tags__().estimator_type != "classifier":
            raise AttributeError(f"predict_proba is only available for classification, and task={self.task!r}; use "
                                 "predict.")
        return True

    def predict_interval(self, X: Any, coverage: float = 0.9) -> pd.DataFrame:
        """Forecasting: a prediction interval per row of ``X`` (columns lower, upper) at ``coverage``.

        The chosen model's own interval where it has one (the statistical families), else a conformal
        interval from the shipped trial's backtest errors (every family).
        """
        return self._fitted().predict_interval(X, coverage)

    def score(self, X: Any, y: Any, groups: Any = None) -> float:
        """The job's metric on (X, y), signed so that greater is better (scikit-learn's contract).

        Metrics to minimise come back negated (rmse 0.3 is -0.3, log_loss 0.2 is -0.2), as scikit-learn's
        ``neg_*`` scorers do, so ``GridSearchCV`` and ``cross_val_score`` over an AutoML pick the best.
        A custom metric's value to minimise is negated too. ``groups`` (one query id per row) is for ranking.
        """
        model = self._fitted()
        frame, target = check_xy(X, y, columns=list(model.feature_names_in_))
        task = self.task_.plugin
        encoded = task.encode_known(target, self._target)
        metric = get_metric(self.task_.metric, task.metric_kind)  # type: ignore[arg-type]
        return -metric.loss(task.evaluate(model, self.task_, frame, encoded, metric, groups))

    @property
    def oof_(self) -> OutOfFoldStore:
        """The best trials' out-of-fold predictions (``automl.oof``; not saved with the model)."""
        self._fitted()
        return self.study_.oof

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first: trial_id, estimator, status, score, duration_s, error, param.*.

        A shipped ensemble is a row of its own on top (trial_id -1, estimator "ensemble", its validation score,
        ``members`` naming trial ids and weights).
        """
        self._fitted()
        board = self.study_.leaderboard()
        objectives = self._objectives()
        if objectives:  # a multi-objective job: which trials are on the Pareto front
            front = {t.trial_id for t in pareto_front(self.study_.trials, objectives)}
            board["pareto"] = board["trial_id"].isin(front)
        if getattr(self, "ensemble_", None):
            members = ", ".join(f"{m['trial_id']}:{m['weight']:.2f}" for m in self.ensemble_)
            row = pd.DataFrame([{"trial_id": -1, "estimator": "ensemble", "status": "ok", "score": self._ensemble_score,
                                 "members": members}])
            board = pd.concat([row, board], ignore_index=True)[[*board.columns, "members"]]  # the trials' column order
        return board

    def _fitted(self) -> Any:
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("This AutoML instance is not fitted yet; call fit(X, y) before using it.")
        return self.pipeline_

    def _objectives(self) -> tuple[str, ...]:
        recorded = str(getattr(self, "job_params_", {}).get("objectives") or "")
        return tuple(recorded.split(",")[1:]) if recorded else ()

    def pareto_front(self) -> pd.DataFrame:
        """A multi-objective job's Pareto front: the ok trials no other beats on every objective, best score first
        (trial_id, estimator, score, each objective's measurement, param.*)."""
        self._fitted()
        objectives = self._objectives()
        if not objectives:
            raise InputError('pareto_front() is for a multi-objective job; fit with objectives=["score", '
                             '"predict_ms_per_row"] (or "model_mb").')
        board = self.leaderboard()
        front = board[board["pareto"]].drop(columns=["pareto"])
        keep = ["trial_id", "estimator", "score", *objectives]
        # no trial measured (a budget cut every trial short): an empty front with its columns, not a KeyError
        return front.reindex(columns=[*keep, *(c for c in front.columns if c.startswith("param."))]).reset_index(drop=True)

    def select(self, trial_id: int) -> "FittedResults":
        """Ship the Pareto-front trial ``trial_id`` instead: refitted on all rows (no time budget: the search is
        over), its attributes (``best_*``, ``refit_``, ``measured_``) then describe it. Needs the fitted job in memory;
        the MLflow run keeps the model the job shipped."""
        self._fitted()
        front = self.pareto_front()
        if trial_id not in set(front["trial_id"]):
            raise InputError(f"trial {trial_id!r} is not on the Pareto front; pass one of {sorted(front['trial_id'])}.")
        job = getattr(self, "_job", None)
        if job is None:
            raise InputError("select() needs the fitted job in memory (a model loaded from a file keeps no training "
                             "data); fit again and select before saving.")
        runner, problem, settings, params = job
        result = runner.ship_trial(runner.study.trials[trial_id])
        self._set_fitted(result, problem, settings, params)  # type: ignore[attr-defined]
        return self

    def to_onnx(self, path: str | Path, X: Any = None, batch_rows: int = 1000) -> Any:
        """Write the shipped model as an ONNX file, checked with onnxruntime on rows of ``X`` (default: up to 1,000
        training rows kept in memory since ``fit``; a model loaded from a file keeps none, so pass ``X``).

        Returns an ``OnnxExport`` (path, rows checked, largest difference, ONNX and native latency per row); see
        ``automl.onnx_export`` for what is covered and the graph's input and outputs.
        """
        from automl.onnx_export import export_onnx

        model = self._fitted()
        rows = X if X is not None else getattr(self, "_export_rows", None)
        if rows is None:
            raise InputError("to_onnx needs rows to check the ONNX model on: pass X (e.g. the training table); a "
                             "model loaded from a file keeps no training rows.")
        frame = to_frame(rows, columns=list(model.feature_names_in_)).reset_index(drop=True)
        family = "ensemble" if getattr(self, "ensemble_", None) else self.best_estimator_
        return export_onnx(model, family, self.task_.kind, path, frame, batch_rows)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the training rows kept for ``to_onnx``'s check or ``select`` (a model file holds no training
        data)."""
        state = dict(super().__getstate__())  # type: ignore[misc]  # a copy: the live object keeps its own
        state.pop("_export_rows", None)
        state.pop("_job", None)  # select()'s job: its data and folds
        return state
