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


def hungry_metric(calls_before: int, action: str) -> Any:
    """A custom metric (log loss) that, on call ``calls_before + 1``, allocates 4 GB or kills its own process."""
    calls = {"n": 0}

    def hungry_log_loss(X_val, y_val, estimator, labels, X_train, y_train, *args):  # noqa: ANN001, ANN002, ANN202
        import os
        import signal

        import numpy as np

        calls["n"] += 1
        if calls["n"] == calls_before + 1:
            if action == "allocate":
                np.ones(4 * 2**30 // 8)  # 4 GB
            else:
                os.kill(os.getpid(), signal.SIGKILL)  # what the out-of-memory killer does
        return log_loss(y_val, estimator.predict_proba(X_val), labels=labels), {}

    return hungry_log_loss


@pytest.mark.parametrize(("action", "reason"), [("allocate", "MemoryError"), ("kill", "SIGKILL")])
def test_a_trial_out_of_memory_fails_alone_and_the_job_goes_on(action: str, reason: str,
                                                               breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = AutoML(time_budget=None, max_trials=4, memory_limit_mb=2048, estimators=["lr"],
               metric=hungry_metric(1, action), tracking=False, seed=0, eval_method="holdout").fit(X, y)
    statuses = [t.status for t in m.study_.trials]
    assert statuses[0] == "ok" and statuses[1] == "failed" and reason in (m.study_.trials[1].error or "")
    assert statuses.count("ok") >= 2 and m.predict(X).shape == (len(X),)  # the next trials ran in a new process


def test_with_trials_in_a_child_process_a_hung_trial_is_killed_inside_the_budget(
        breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    import multiprocessing

    X, y = breast_cancer
    budget = 10.0
    m = AutoML(time_budget=budget, estimators=["lr"], metric=sleeping_metric(2, 3600), memory_limit_mb=2048,
               tracking=False, seed=0, eval_method="holdout")
    started = time.monotonic()
    m.fit(X, y)
    assert time.monotonic() - started <= budget * 1.05 + 1
    hung = m.study_.trials[2]
    assert hung.status == "failed" and "its process was killed" in (hung.error or "")
    assert not [p for p in multiprocessing.active_children() if p.name == "automl-trial"]  # none left running


def test_a_bad_memory_limit_is_one_sentence(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    with pytest.raises(InputError, match=r"memory_limit_mb=10 is invalid; pass a whole number of megabytes"):
        AutoML(time_budget=None, max_trials=1, memory_limit_mb=10, tracking=False).fit(X, y)
    with pytest.raises(InputError, match=r'memory_limit_mb=1000 needs backend="inprocess"'):
        AutoML(time_budget=None, max_trials=1, memory_limit_mb=1000, backend="ray", tracking=False).fit(X, y)
