"""The Python API contract, with real estimators on real small data."""

from __future__ import annotations

import math
import pickle
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_info

from automl import AutoML, InputError, TaskSpec
from automl.estimators import ESTIMATORS

LEADERBOARD_COLUMNS = {"trial_id", "estimator", "status", "score", "duration_s"}


def quick(**kwargs: object) -> AutoML:
    params = {"time_budget": None, "max_trials": 8, "tracking": False, "seed": 0, "n_jobs": 1}
    params.update(kwargs)
    return AutoML(**params)  # type: ignore[arg-type]


def test_binary_fit_predict_contract(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    started = time.monotonic()
    m = AutoML(task="classification", metric="roc_auc", time_budget=8, seed=0, tracking=False).fit(X_train, y_train)
    elapsed = time.monotonic() - started
    proba = m.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2) and np.allclose(proba.sum(axis=1), 1)
    assert list(m.classes_) == [0, 1]
    assert roc_auc_score(y_test, proba[:, 1]) > 0.95
    assert set(np.unique(m.predict(X_test))) <= {0, 1}
    assert m.best_estimator_ in ESTIMATORS.names()
    assert set(m.best_config_) == {p.name for p in ESTIMATORS.get(m.best_estimator_)().search_space().for_task("classification", {"n_rows": 400, "n_features": 30, "n_classes": 2}).params}
    assert 0.9 < m.best_score_ <= 1.0
    assert hasattr(m.best_model_, "predict")
    board = m.leaderboard()
    assert LEADERBOARD_COLUMNS <= set(board.columns)
    assert any(c.startswith("param.") for c in board.columns)
    ok = board[(board.status == "ok") & (board.trial_id >= 0)]  # the trials (an ensemble's row is trial_id -1)
    assert ok.score.iloc[0] == ok.score.max() == m.best_score_
    assert elapsed <= 8 * 1.05 + 1  # the budget holds for the whole fit, timed from outside
    assert m.time_spent_["total_s"] == pytest.approx(elapsed, abs=0.5)  # and time_spent_ reports that time


def test_multiclass_string_labels_proba_ordered_as_classes(wine_strings: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = wine_strings
    m = quick(estimators=["lgbm", "lr"], max_trials=4).fit(X, y)
    assert m.task_.kind == "multiclass" and m.metric_ == "log_loss"
    assert list(m.classes_) == sorted(y.unique())
    proba = m.predict_proba(X)
    predicted = m.predict(X)
    assert set(predicted) <= set(y.unique())
    assert (np.asarray(m.classes_)[proba.argmax(axis=1)] == predicted).mean() > 0.95


def test_regression(diabetes: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = diabetes
    m = quick(task="regression", metric="mae", estimators=["lgbm", "rf", "lr"], max_trials=5).fit(X, y)
    assert m.metric_ == "mae" and m.best_score_ > 0
    assert m.predict(X).dtype == float
    assert m.score(X, y) < y.std()
    with pytest.raises(Exception, match="predict_proba is only available for classification"):
        m.predict_proba(X)


def test_mixed_column_types_and_unseen_values_at_predict(mixed_frame: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = mixed_frame
    m = quick(max_trials=7).fit(X, y)
    assert {t.status for t in m.study_.trials} <= {"ok", "pruned"}, m.leaderboard()[["estimator", "error"]]
    new = X.head(4).copy()
    new["colour"] = ["purple", None, "red", "green"]
    new.loc[new.index[0], "amount"] = np.nan
    assert set(m.predict(new)) <= {"yes", "no"}
    assert m.predict_proba(new).shape == (4, 2)
    assert m.score(X, y) > 0.7


TABULAR_FAMILIES = [name for name in ESTIMATORS.names() if "classification" in ESTIMATORS.get(name).tasks]


@pytest.mark.parametrize("family", TABULAR_FAMILIES)
def test_each_family_fits_classification_and_regression(family: str, mixed_frame: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = mixed_frame
    clf = quick(estimators=[family], max_trials=2, eval_method="holdout").fit(X, y)
    assert clf.best_estimator_ == family and clf.predict(X).shape == (len(X),)
    target = X["amount"].fillna(0) * 2 + (X["flag"] * 1.0)
    reg = quick(task="regression", estimators=[family], max_trials=2, eval_method="holdout").fit(X.drop(columns="amount"), target)
    assert reg.best_estimator_ == family and np.isfinite(reg.predict(X)).all()


@pytest.mark.parametrize("strategy", ["random", "grid", "tpe", "auto"])
def test_same_seed_reproduces_the_same_trials(strategy: str, breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    settings = {"strategy": strategy, "max_trials": 8, "eval_method": "holdout", "ensemble": False}
    runs = [quick(seed=7, **settings).fit(X, y).leaderboard() for _ in range(2)]
    columns = ["trial_id", "estimator", "status", "score"] + [c for c in runs[0].columns if c.startswith("param.")]
    pd.testing.assert_frame_equal(runs[0][columns], runs[1][columns])
    other = quick(seed=8, **settings).fit(X, y).leaderboard()
    if strategy != "grid":  # the grid visits the same points whatever the seed
        assert not runs[0][columns].equals(other[columns])


def test_trials_get_n_jobs_threads_never_more(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    seen: list[int] = []

    def spy(X_val, y_val, estimator, labels, X_train, y_train, *rest):  # noqa: ANN001, ANN002, ANN202
        seen.append(max(info["num_threads"] for info in threadpool_info()))
        return 1 - roc_auc_score(y_val, estimator.predict_proba(X_val)[:, 1]), {}

    m = quick(metric=spy, n_jobs=1, estimators=["lgbm", "xgboost", "rf"], max_trials=3, eval_method="holdout").fit(X, y)
    assert seen and max(seen) == 1
    params = m.best_model_.get_params()
    assert params.get("n_jobs", params.get("forest__n_jobs")) == 1


def test_a_failing_trial_is_recorded_and_the_search_goes_on(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer

    def fragile(X_val, y_val, estimator, labels, X_train, y_train, *rest):  # noqa: ANN001, ANN002, ANN202
        name = type(estimator).__name__
        if name.startswith("XGB"):
            raise RuntimeError("xgboost is not welcome here")
        if name == "Pipeline":
            return math.nan, {}
        return 1 - roc_auc_score(y_val, estimator.predict_proba(X_val)[:, 1]), {"auc": 0.0}

    m = quick(metric=fragile, estimators=["lgbm", "xgboost", "rf"], max_trials=6, eval_method="holdout").fit(X, y)
    board = m.leaderboard()
    failed = board[board.status == "failed"]
    assert failed.error.str.contains("xgboost is not welcome here").any()
    assert failed.error.str.contains("non-finite").any()
    assert m.best_estimator_ == "lgbm" and board.iloc[0].status == "ok"


def test_custom_metric_values_are_minimised_and_logged(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer

    def error_rate(X_val, y_val, estimator, labels, X_train, y_train, weight_val=None, weight_train=None, config=None, groups_val=None, groups_train=None):  # noqa: ANN001, ANN201, E501
        assert list(labels) == [0, 1] and config is not None
        err = float((estimator.predict(X_val) != y_val).mean())
        return err, {"error_rate": err, "n_val": float(len(y_val))}

    m = quick(metric=error_rate, max_trials=4).fit(X, y)
    assert m.metric_ == "error_rate"
    assert m.best_score_ == min(t.score for t in m.study_.trials if t.status == "ok")
    assert "error_rate" in m.best_trial_.metrics


def test_sklearn_contract_clone_params_pickle(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = quick(estimators=["lgbm"], max_trials=2)
    assert clone(m).get_params() == m.get_params()
    m.set_params(max_trials=3)
    assert m.max_trials == 3 and not hasattr(m, "best_config_")
    m.fit(X, y)
    assert m.fit(X, y) is m
    restored = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(restored.predict_proba(X), m.predict_proba(X))
    assert not hasattr(clone(m), "best_config_")


def test_taskspec_gives_full_control(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = AutoML(task=TaskSpec("classification", metric="accuracy", eval_method="cv", n_splits=3), time_budget=None, max_trials=2, tracking=False).fit(X, y)
    assert (m.metric_, m.eval_method_) == ("accuracy", "cv")


def test_tiny_class_falls_back_with_a_warning(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    y = y.copy()
    y.iloc[:2] = 2  # a class with two rows cannot be stratified into five folds
    with pytest.warns(UserWarning, match="smallest class has 2 row.*using 2 stratified folds"):
        m = quick(eval_method="cv", estimators=["lgbm"], max_trials=1, metric="accuracy").fit(X, y)
    assert len(m.classes_) == 3
    y.iloc[2:] = y.iloc[2:].where(y.iloc[2:] != 2, 0)
    y.iloc[1] = 0  # now class 2 has a single row: no stratification possible
    with pytest.warns(UserWarning, match="smallest class has 1 row.*unstratified"):
        quick(eval_method="cv", estimators=["lgbm"], max_trials=1, metric="accuracy").fit(X, y)


def test_search_space_override_by_dict_is_used(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = quick(estimators=["lgbm"], max_trials=6, search_space={"lgbm": {"n_estimators": {"high": 12, "default": 8}}}).fit(X, y)
    assert all(4 <= t.config["n_estimators"] <= 12 for t in m.study_.trials)
    assert m.study_.trials[0].config["n_estimators"] == 8


def test_a_budget_that_no_trial_finishes_in_ships_the_trial_the_deadline_cut(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """Thousands of boosting rounds per fold in a 3 s job: the first trial is cut, and its rounds so far are a model.

    Without tracking: the MLflow writer's own start (importing MLflow and scikit-learn, opening the store: 4-6 s
    on 2 cores, README "Tracking") is longer than this budget, and a bound with tracking measured the writer."""
    X, y = breast_cancer
    space = {"lgbm": {"n_estimators": {"low": 20000, "high": 20000, "default": 20000}, "learning_rate": {"default": 0.01}}}
    started = time.monotonic()
    m = AutoML(time_budget=3, estimators=["lgbm"], search_space=space, tracking=False, seed=0, n_jobs=1).fit(X, y)
    assert time.monotonic() - started < 3 * 1.1 + 1
    assert m.refit_ == "validation-fold model, cut at the time budget"
    board = m.leaderboard()
    assert board.iloc[0]["status"] == "timeout" and 0.5 < board.iloc[0]["score"] <= 1.0
    assert roc_auc_score(y, m.predict_proba(X)[:, 1]) > 0.9


def test_verbose_shows_the_progress_and_the_default_prints_nothing(breast_cancer: tuple[pd.DataFrame, pd.Series],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    X, y = breast_cancer
    AutoML(time_budget=None, max_trials=3, estimators=["lr"], tracking=False, seed=0).fit(X, y)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    m = AutoML(time_budget=None, max_trials=3, estimators=["lr"], tracking=False, seed=0, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()  # not a terminal here: a line whenever the best improves
    assert lines and all(line.startswith("tuning: ") for line in lines)
    assert f"best {m.best_score_:.5g} (lr)" in lines[-1]
    with pytest.raises(InputError, match=r"verbose=-1 is invalid; pass 0 \(quiet\) or 1"):
        AutoML(verbose=-1, tracking=False).fit(X, y)


def test_probabilities_are_float64_rows_summing_to_one_without_warnings(wine_strings: tuple[pd.DataFrame, pd.Series]) -> None:
    """XGBoost predicts float32 probabilities whose rows miss 1 by up to 1e-7; scikit-learn's log_loss warned
    "The y_prob values do not sum to one" on every such trial."""
    import warnings

    X, y = wine_strings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = quick(task="classification", metric="log_loss", estimators=["xgboost"], max_trials=3).fit(X, y)
    assert not [w for w in caught if "do not sum to one" in str(w.message)]
    proba = m.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
