import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from automl import InputError
from automl.metrics import METRICS, CustomMetric, get_metric

REQUIRED = ["roc_auc", "log_loss", "accuracy", "f1", "macro_f1", "rmse", "mae", "r2", "mape"]


def test_required_metrics_are_registered() -> None:
    assert set(REQUIRED) <= set(METRICS.names())


def test_roc_auc_binary_and_multiclass_match_sklearn() -> None:
    y = np.array([0, 1, 1, 0, 1])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4], [0.9, 0.1]])
    assert get_metric("roc_auc", "binary").fn(y, proba) == pytest.approx(roc_auc_score(y, proba[:, 1]))
    y3 = np.array([0, 1, 2, 2, 1, 0])
    p3 = np.random.default_rng(0).dirichlet(np.ones(3), size=6)
    expected = roc_auc_score(y3, p3, multi_class="ovr")
    assert get_metric("roc_auc", "multiclass").fn(y3, p3) == pytest.approx(expected)


def test_log_loss_handles_a_class_missing_from_the_fold() -> None:
    y = np.array([0, 0, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    assert get_metric("log_loss", "multiclass").fn(y, proba) == pytest.approx(log_loss(y, proba, labels=[0, 1, 2]))


def test_loss_direction() -> None:
    assert get_metric("r2", "regression").loss(0.8) == -0.8
    assert get_metric("rmse", "regression").loss(2.0) == 2.0


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
