"""A trial that never checks the clock (a custom metric that sleeps) does not hold the job past its budget."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import pytest
from sklearn.metrics import log_loss

from automl import AutoML, InputError


def sleeping_metric(calls_before_sleep: int, seconds: float) -> Any:
    """A custom metric (log loss) that sleeps ``seconds`` on call number ``calls_before_sleep + 1``."""
    calls = {"n": 0}

    def sleepy_log_loss(X_val, y_val, estimator, labels, X_train, y_train, *args):  # noqa: ANN001, ANN002, ANN202
        calls["n"] += 1
        if calls["n"] == calls_before_sleep + 1:
            time.sleep(seconds)
        return log_loss(y_val, estimator.predict_proba(X_val), labels=labels), {}

    return sleepy_log_loss


def test_a_trial_that_sleeps_for_an_hour_is_given_up_inside_the_budget(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    budget = 8.0
    m = AutoML(time_budget=budget, estimators=["lr"], metric=sleeping_metric(2, 3600), tracking=False, seed=0,
               eval_method="holdout")
    started = time.monotonic()
    m.fit(X, y)
    assert time.monotonic() - started <= budget * 1.05 + 1  # measured from outside the call
    hung = m.study_.trials[2]
    assert hung.status == "failed" and "past its time limit" in (hung.error or "")
    assert [t.status for t in m.study_.trials[:2]] == ["ok", "ok"]
    assert m.predict(X).shape == (len(X),)


def test_trial_timeout_caps_each_trial(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = AutoML(time_budget=None, max_trials=4, trial_timeout=1.0, estimators=["lr"], metric=sleeping_metric(1, 30),
               tracking=False, seed=0, eval_method="holdout")
    started = time.monotonic()
    m.fit(X, y)
    assert time.monotonic() - started < 30  # the sleeping trial was not waited for
    statuses = [t.status for t in m.study_.trials]
    assert statuses[1] == "failed" and statuses.count("ok") == 3
    assert "1.0 s after it started" in (m.study_.trials[1].error or "")


@pytest.mark.parametrize("value", [0, -1, "10", True])
def test_a_bad_trial_timeout_is_one_sentence(value: object, breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    with pytest.raises(InputError, match=rf"trial_timeout={value!r} is invalid; pass a positive number of seconds"):
        AutoML(time_budget=None, max_trials=1, trial_timeout=value, tracking=False).fit(X, y)  # type: ignore[arg-type]
