"""Intermediate results of a boosting trial: the job's metric on the validation rows every few rounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from automl.metrics import CustomMetric, Metric

FIRST_ROUND = 4


def is_report_round(rounds: int) -> bool:
    """Rounds 4, 8, 16, ...: the same steps for every trial, and O(n) prediction work in total."""
    return rounds >= FIRST_ROUND and rounds & (rounds - 1) == 0


@dataclass
class RoundMonitor:
    """Turns a booster's raw output at a round into a loss and asks whether to stop.

    Adapters call :meth:`report` at rounds where :func:`is_report_round` holds;
    ``cache`` holds what an adapter builds once per fit (an XGBoost DMatrix).
    """

    metric: Metric | CustomMetric
    X_val: pd.DataFrame
    y_val: np.ndarray
    n_classes: int
    on_value: Callable[[int, float], bool]
    stopped: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Custom metrics need a fitted estimator, so boosting rounds are not reported for them."""
        return not isinstance(self.metric, CustomMetric)

    def report(self, rounds: int, output: np.ndarray) -> bool:
        """``output``: probabilities (1-D for binary) or regression values after ``rounds`` rounds."""
        metric = self.metric
        if isinstance(metric, CustomMetric):
            return False
        output = np.asarray(output)
        if self.n_classes:
            proba = np.column_stack([1 - output, output]) if output.ndim == 1 else output
            prediction = proba if metric.needs_proba else proba.argmax(axis=1)
        else:
            prediction = output
        value = metric.loss(metric.fn(self.y_val, prediction))
        self.stopped = bool(self.on_value(rounds, float(value)))
        return self.stopped
