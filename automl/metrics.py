"""Metric registry: name -> ``Metric``; custom FLAML-style callables are accepted too."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm

from automl import rank_metrics
from automl.errors import InputError
from automl.forecasting import metrics as forecast_metrics
from automl.registry import Registry, unknown_name_error


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

    @property
    def log_name(self) -> str:
        """The name as an MLflow metric key (which may not hold "@": ndcg@10 is logged as ndcg_at_10)."""
        return self.name.replace("@", "_at_")


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
        if sample_weight is None:
            return _binary_auc(np.asarray(y), proba[:, 1])
        return float(skm.roc_auc_score(y, proba[:, 1], sample_weight=sample_weight))
    return float(
        skm.roc_auc_score(
            y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]), sample_weight=sample_weight
        )
    )


def _binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    """scikit-learn's ``roc_auc_score`` for labels 0 / 1 (tied scores count half): the Mann-Whitney statistic
    over average ranks, in a 17th of its time (0.25 against 4.3 ms on 569 rows), which matters where it is
    called hundreds of times (the ensemble's greedy selection and its bootstrap judgement)."""
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("Only one class is present in y_true. ROC AUC score is not defined in that case.")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _log_loss(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """scikit-learn's ``log_loss`` for labels 0..k-1 (probabilities clipped to the dtype's eps), without its
    checks of input it is never given here: a tenth of its 3.4 ms on 569 rows."""
    labels = np.asarray(y)
    if labels.dtype.kind not in "iu" or labels.min(initial=0) < 0 or labels.max(initial=0) >= proba.shape[1]:
        return float(skm.log_loss(y, proba, labels=np.arange(proba.shape[1]), sample_weight=sample_weight))
    eps = np.finfo(proba.dtype).eps if proba.dtype.kind == "f" else np.finfo(float).eps
    picked = np.clip(proba, eps, 1 - eps)[np.arange(len(labels)), labels]
    return float(np.average(-np.log(picked), weights=sample_weight))


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


#: Ranking metrics named with an optional cutoff ("ndcg", "ndcg@10"); see ``automl.rank_metrics``.
CUTOFF_METRICS = ("rank",)


def metric_names(task_kind: str | None = None) -> list[str]:
    """Metric names (for ``task_kind`` only, if given); metrics with a cutoff are listed as ``name@k``."""
    names = [n for n in METRICS.names() if task_kind is None or task_kind in METRICS.get(n).tasks]
    if task_kind is None or task_kind in CUTOFF_METRICS:
        names += [f"{base}@k" for base in rank_metrics.FAMILIES]
        names += [base for base, (_, needs_k) in rank_metrics.FAMILIES.items() if not needs_k]
    return names


def lookup(name: str) -> Metric:
    """The built-in metric called ``name``: a registered name, or a metric family with a cutoff ("ndcg@10")."""
    if name in METRICS:
        return METRICS.get(name)
    base, at, cutoff = str(name).partition("@")
    if base not in rank_metrics.FAMILIES:
        raise unknown_name_error("metric", "metric", name, metric_names())
    fn, needs_k = rank_metrics.FAMILIES[base]
    if at and not (cutoff.isdigit() and int(cutoff) > 0):
        raise InputError(f'metric="{name}" has an invalid cutoff {cutoff!r}; pass a positive integer, e.g. "{base}@10".')
    if needs_k and not at:
        raise InputError(f'metric="{name}" needs a cutoff; pass e.g. "{base}@10".')
    return Metric(name, rank_metrics.QueryMean(fn, int(cutoff) if at else None), True, False, CUTOFF_METRICS)


def get_metric(metric: str | Callable[..., Any], task_kind: str) -> Metric | CustomMetric:
    """Resolve ``metric`` for a task whose ``metric_kind`` is ``task_kind`` ("binary", "multiclass", "regression", "rank")."""
    if callable(metric):
        _check_custom_signature(metric)
        return CustomMetric(metric)
    found = lookup(metric)
    if task_kind not in found.tasks:
        usable = metric_names(task_kind)
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
