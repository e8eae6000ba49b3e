"""Metric registry: name -> ``Metric``; custom FLAML-style callables are accepted too."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from sklearn import metrics as skm

from automl.errors import InputError
from automl.forecasting import metrics as forecast_metrics
from automl.registry import Registry


@dataclass(frozen=True)
class Metric:
    """A built-in metric computed from true labels and predictions (or probabilities)."""

    name: str
    fn: Callable[..., float]
    greater_is_better: bool
    needs_proba: bool
    tasks: tuple[str, ...]
    scaled: bool = False  # called with ``scale``: each row's in-sample seasonal naive error (MASE)

    def loss(self, value: float) -> float:
        """The value a search minimises."""
        return -value if self.greater_is_better else value


@dataclass(frozen=True)
class CustomMetric:
    """A user callable ``(X_val, y_val, estimator, labels, X_train, y_train, ...) -> (loss, logs)``."""

    fn: Callable[..., tuple[float, dict[str, Any]]]
    greater_is_better: bool = False

    @property
    def name(self) -> str:
        return getattr(self.fn, "__name__", "custom_metric")

    def loss(self, value: float) -> float:
        return value


def _roc_auc(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(y, proba[:, 1], sample_weight=sample_weight))
    return float(
        skm.roc_auc_score(
            y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]), sample_weight=sample_weight
        )
    )


def _log_loss(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(skm.log_loss(y, proba, labels=np.arange(proba.shape[1]), sample_weight=sample_weight))


def _rmse(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, pred, sample_weight=sample_weight)))


def _binary_f1(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(skm.f1_score(y, pred, sample_weight=sample_weight))


def _macro_f1(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(skm.f1_score(y, pred, average="macro", sample_weight=sample_weight))


def _micro_f1(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(skm.f1_score(y, pred, average="micro", sample_weight=sample_weight))


def _plain(fn: Callable[..., Any]) -> Callable[..., float]:
    def score(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        return float(fn(y, pred, sample_weight=sample_weight))

    score.__name__ = fn.__name__
    return score


CLASSIFICATION = ("binary", "multiclass")
METRICS: Registry[Metric] = Registry("metric", "metric")
for _metric in (
    Metric("roc_auc", _roc_auc, True, True, CLASSIFICATION),
    Metric("log_loss", _log_loss, False, True, CLASSIFICATION),
    Metric("accuracy", _plain(skm.accuracy_score), True, False, CLASSIFICATION),
    Metric("f1", _binary_f1, True, False, ("binary",)),
    Metric("macro_f1", _macro_f1, True, False, CLASSIFICATION),
    Metric("micro_f1", _micro_f1, True, False, CLASSIFICATION),
    Metric("rmse", _rmse, False, False, ("regression", "forecast")),
    Metric("mse", _plain(skm.mean_squared_error), False, False, ("regression",)),
    Metric("mae", _plain(skm.mean_absolute_error), False, False, ("regression", "forecast")),
    Metric("r2", _plain(skm.r2_score), True, False, ("regression",)),
    Metric("mape", _plain(skm.mean_absolute_percentage_error), False, False, ("regression", "forecast")),
    Metric("mase", forecast_metrics.mase, False, False, ("forecast",), scaled=True),
    Metric("smape", forecast_metrics.smape, False, False, ("forecast",)),
):
    METRICS.register(_metric.name, _metric)


def get_metric(metric: str | Callable[..., Any], task_kind: str) -> Metric | CustomMetric:
    """Resolve ``metric`` for a task whose ``metric_kind`` is ``task_kind`` ("binary", "multiclass", "regression")."""
    if callable(metric):
        _check_custom_signature(metric)
        return CustomMetric(metric)
    found = METRICS.get(metric)
    if task_kind not in found.tasks:
        usable = [name for name in METRICS.names() if task_kind in METRICS.get(name).tasks]
        raise InputError(
            f'metric="{metric}" does not apply to a {task_kind} task; use one of: {", ".join(usable)}.'
        )
    return found


def _check_custom_signature(fn: Callable[..., Any]) -> None:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return
    positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in params.values())
    if len(positional) < 6 and not has_varargs:
        raise InputError(
            f"metric={getattr(fn, '__name__', fn)!r} takes {len(positional)} positional arguments; a custom "
            "metric must accept (X_val, y_val, estimator, labels, X_train, y_train, ...) and return "
            "(value_to_minimize, dict_of_metrics_to_log)."
        )
