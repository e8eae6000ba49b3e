"""A custom metric that makes two Ray trial workers surely run trials at once.

A job's worker actors start side by side, but on a loaded machine one can start seconds after the other; trials
of 10 ms then all run on the first one. Wrapped in :func:`meeting`, a metric holds each worker's first call until
another worker process has made its first call too (at most two minutes), so both workers run trials, whatever the
strategy; calls in the test's own process (an in-process run) never wait.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

Metric = Callable[..., tuple[float, dict[str, float]]]


def meeting(folder: Path, metric: Metric) -> Metric:
    """``metric``, holding each worker's first call until two worker processes have called it (their pids are
    the file names in ``folder`` afterwards)."""
    return functools.partial(_meet_then_score, str(folder), os.getpid(), metric)


def _meet_then_score(folder: str, test_pid: int, metric: Metric, X_val, y_val, estimator, labels, X_train,  # noqa: ANN001
                     y_train, *args: Any) -> tuple[float, dict[str, float]]:
    mine = Path(folder, str(os.getpid()))
    if os.getpid() != test_pid and not mine.exists():  # a worker's first call
        mine.touch()
        until = time.monotonic() + 120
        while len(list(Path(folder).iterdir())) < 2 and time.monotonic() < until:
            time.sleep(0.05)
    return metric(X_val, y_val, estimator, labels, X_train, y_train, *args)


def auc_loss(X_val, y_val, estimator, labels, X_train, y_train, *args: Any) -> tuple[float, dict[str, float]]:  # noqa: ANN001
    """1 - ROC AUC of a binary classifier."""
    from sklearn.metrics import roc_auc_score

    return 1 - roc_auc_score(y_val, estimator.predict_proba(X_val)[:, 1]), {}


def mean_absolute_error(X_val, y_val, estimator, labels, X_train, y_train, *args: Any  # noqa: ANN001
                        ) -> tuple[float, dict[str, float]]:
    """The mean absolute error of a regressor or forecaster."""
    return float(np.mean(np.abs(np.asarray(y_val, dtype=float) - estimator.predict(X_val)))), {}
