"""The metric registry: every metric is scikit-learn's value, with the direction the search needs."""

from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np
import pytest
from sklearn import metrics as skm

from automl import InputError
from automl.metrics import METRICS, CustomMetric, get_metric

REQUIRED = ["roc_auc", "log_loss", "accuracy", "f1", "macro_f1", "micro_f1", "rmse", "mse", "mae", "r2", "mape"]

#: (metric, task kind, scikit-learn's own call on (y, prediction), greater_is_better, needs_proba); one row per kind it applies to.
CASES: list[tuple[str, str, Callable[..., float], bool, bool]] = [
    ("roc_auc", "binary", lambda y, p: skm.roc_auc_score(y, p[:, 1]), True, True),
    ("roc_auc", "multiclass", lambda y, p: skm.roc_auc_score(y, p, multi_class="ovr"), True, True),
    ("log_loss", "binary", skm.log_loss, False, True),
    ("log_loss", "multiclass", skm.log_loss, False, True),
    ("accuracy", "binary", skm.accuracy_score, True, False),
    ("accuracy", "multiclass", skm.accuracy_score, True, False),
    ("f1", "binary", skm.f1_score, True, False),
    ("macro_f1", "binary", partial(skm.f1_score, average="macro"), True, False),
    ("macro_f1", "multiclass", partial(skm.f1_score, average="macro"), True, False),
    ("micro_f1", "binary", partial(skm.f1_score, average="micro"), True, False),
    ("micro_f1", "multiclass", partial(skm.f1_score, average="micro"), True, False),
    ("rmse", "regression", skm.root_mean_squared_error, False, False),
    ("mse", "regression", skm.mean_squared_error, False, False),
    ("mae", "regression", skm.mean_absolute_error, False, False),
    ("r2", "regression", skm.r2_score, True, False),
    ("mape", "regression", skm.mean_absolute_percentage_error, False, False),
    ("rmse", "forecast", skm.root_mean_squared_error, False, False),
    ("mae", "forecast", skm.mean_absolute_error, False, False),
    ("mape", "forecast", skm.mean_absolute_percentage_error, False, False),
    ("smape", "forecast", lambda y, p: 100 * np.mean(2 * np.abs(y - p) / (np.abs(y) + np.abs(p))), False, False),
    # MASE: called with each row's in-sample seasonal naive error (here 2.0 for every row)
    ("mase", "forecast", lambda y, p: skm.mean_absolute_error(y, p) / SCALE, False, False),
]
SCALE = 2.0


def sample(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small random data for ``kind``: targets, a poor prediction and a close one (probabilities where there are classes)."""
    rng = np.random.default_rng(0)
    if kind in ("regression", "forecast"):
        y = rng.uniform(1.0, 10.0, 50)  # away from 0, for mape
        return y, rng.uniform(1.0, 10.0, 50), y * rng.uniform(0.98, 1.02, 50)
    counts = [36, 24] if kind == "binary" else [30, 18, 12]  # every class present, unbalanced (balanced, ovr = ovo)
    k = len(counts)
    y = rng.permutation(np.repeat(np.arange(k), counts))
    close = np.full((60, k), 0.1 / (k - 1))
    close[np.arange(60), y] = 0.9
    return y, rng.dirichlet(np.ones(k), size=60), close


def test_required_metrics_are_registered() -> None:
    assert set(REQUIRED) <= set(METRICS.names())


def test_every_registered_metric_is_checked_for_each_task_it_applies_to() -> None:
    checked = {name: {kind for case, kind, *_ in CASES if case == name} for name in {case for case, *_ in CASES}}
    assert set(checked) == set(METRICS.names())  # a new metric needs a row in CASES
    for name in METRICS.names():
        assert checked[name] == set(METRICS.get(name).tasks), name


@pytest.mark.parametrize(("name", "kind", "reference", "greater_is_better", "needs_proba"), CASES,
                         ids=[f"{name}-{kind}" for name, kind, *_ in CASES])
def test_metric_is_sklearns_value_with_its_direction(name: str, kind: str, reference: Callable[..., float],
                                                     greater_is_better: bool, needs_proba: bool) -> None:
    metric = get_metric(name, kind)
    assert (metric.greater_is_better, metric.needs_proba) == (greater_is_better, needs_proba)
    y, poor, close = sample(kind)
    if not needs_proba and kind not in ("regression", "forecast"):
        poor, close = poor.argmax(axis=1), close.argmax(axis=1)  # labels, as the search passes them
    context = {"scale": np.full(len(y), SCALE)} if metric.scaled else {}
    value = metric.fn(y, poor, **context)
    assert value == pytest.approx(reference(y, poor), rel=1e-12)
    assert metric.loss(value) == (-value if greater_is_better else value)
    assert metric.loss(metric.fn(y, close, **context)) < metric.loss(value)  # the search minimises: the closer prediction has the lower loss


def test_log_loss_handles_a_class_missing_from_the_fold() -> None:
    y = np.array([0, 0, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    assert get_metric("log_loss", "multiclass").fn(y, proba) == pytest.approx(skm.log_loss(y, proba, labels=[0, 1, 2]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fast_auc_and_log_loss_equal_scikit_learn_s_on_ties_extremes_and_weights(dtype: type) -> None:
    """roc_auc and log_loss have their own numpy code (the ensemble calls them hundreds of times): the same values."""
    rng = np.random.default_rng(1)
    auc, log_loss = get_metric("roc_auc", "binary").fn, get_metric("log_loss", "multiclass").fn
    for k in (2, 3):
        y = rng.permutation(np.repeat(np.arange(k), 40))
        proba = np.round(rng.dirichlet(np.ones(k), size=len(y)), 1).astype(dtype)  # many tied scores
        proba[:3] = np.eye(k, dtype=dtype)[(y[:3] + 1) % k]  # certain and wrong: 0 and 1, clipped
        proba /= proba.sum(axis=1, keepdims=True)
        weights = rng.uniform(0.1, 2.0, len(y))
        assert log_loss(y, proba) == pytest.approx(skm.log_loss(y, proba, labels=np.arange(k)), rel=1e-6)
        assert log_loss(y, proba, weights) == pytest.approx(skm.log_loss(y, proba, labels=np.arange(k), sample_weight=weights), rel=1e-6)
        if k == 2:
            assert auc(y, proba) == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    with pytest.raises(ValueError, match="Only one class"):  # as scikit-learn: a resample with one class has no AUC
        auc(np.zeros(5, dtype=int), np.full((5, 2), 0.5))


def test_metric_for_wrong_task_is_rejected() -> None:
    with pytest.raises(InputError, match='metric="rmse" does not apply to a binary task'):
        get_metric("rmse", "binary")
    with pytest.raises(InputError, match='metric="f1" does not apply to a multiclass task'):
        get_metric("f1", "multiclass")


def test_unknown_metric_suggests() -> None:
    with pytest.raises(InputError, match='Unknown metric "roc_acu".*Did you mean "roc_auc"'):
        get_metric("roc_acu", "binary")


def test_custom_metric_signature_is_checked() -> None:
    def good(X_val, y_val, estimator, labels, X_train, y_train, *args):  # noqa: ANN001, ANN002, ANN202
        return 0.0, {}

    assert isinstance(get_metric(good, "binary"), CustomMetric)
    with pytest.raises(InputError, match="custom metric must accept"):
        get_metric(lambda y, p: 0.0, "binary")
