import pandas as pd
import pytest

from automl import InputError, TaskSpec
from automl.task import make_task


def test_classification_resolves_to_binary_or_multiclass_with_default_metrics() -> None:
    binary = make_task("classification").resolve(pd.Series([0, 1, 0, 1]))
    multi = make_task("classification").resolve(pd.Series(["a", "b", "c", "a"]))
    assert (binary.kind, binary.metric) == ("binary", "roc_auc")
    assert (multi.kind, multi.metric) == ("multiclass", "log_loss")
    assert make_task("regression").resolve(pd.Series([1.0, 2.5])).metric == "r2"


def test_single_class_is_rejected() -> None:
    with pytest.raises(InputError, match="one class only"):
        make_task("classification").resolve(pd.Series([1, 1, 1]))


def test_unknown_task_suggests_the_closest_name() -> None:
    with pytest.raises(InputError, match='Unknown task "regresion".*Did you mean "regression"'):
        make_task("regresion")


def test_every_task_kind_is_available_and_ranking_is_rank() -> None:
    assert TaskSpec("forecast", time_column="date", horizon=7).kind == "forecast"
    assert TaskSpec("ranking").kind == TaskSpec("rank").kind == "rank"


def test_binary_task_with_three_classes_is_rejected() -> None:
    with pytest.raises(InputError, match='task="binary" but y has 3 classes'):
        make_task("binary").resolve(pd.Series([0, 1, 2]))


def test_regression_needs_numeric_target() -> None:
    with pytest.raises(InputError, match="numeric target"):
        make_task("regression").resolve(pd.Series(["a", "b"]))


def test_eval_method_auto_follows_size_and_budget() -> None:
    task = make_task("classification")
    assert task.choose_eval_method(500, 30, 30) == "cv"
    assert task.choose_eval_method(200_000, 10, 30) == "holdout"
    assert task.choose_eval_method(50_000, 50, 10) == "holdout"
    assert make_task("classification", eval_method="holdout").choose_eval_method(100, 2, 60) == "holdout"


def test_eval_method_auto_never_holds_out_fewer_than_a_thousand_rows() -> None:
    """ames_housing's 2,197 x 73 at 60 s is large by rows x columns, but its holdout would be 440 rows."""
    task = make_task("regression")
    assert task.choose_eval_method(2_197, 73, 60) == "cv"
    assert task.choose_eval_method(4_999, 500, 1) == "cv"  # 999.8 validation rows
    assert task.choose_eval_method(5_000, 500, 1) == "holdout"  # 1,000
    assert make_task("regression", holdout_fraction=0.5).choose_eval_method(2_000, 500, 1) == "holdout"


def test_bad_n_splits_and_eval_method_are_named() -> None:
    with pytest.raises(InputError, match="n_splits=1"):
        make_task("classification", n_splits=1)
    with pytest.raises(InputError, match='Unknown evaluation method "kfold"'):
        make_task("classification", eval_method="kfold")
