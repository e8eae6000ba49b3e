"""Intermediate results of a boosting trial: the job's metric on the validation rows every few rounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from automl.metrics import Metric

if TYPE_CHECKING:
    from automl.fitdata import Fold
    from automl.tasks import Task

FIRST_ROUND = 4


def is_report_round(rounds: int) -> bool:
    """Rounds 4, 8, 16, ...: the same steps for every trial, and O(n) prediction work in total."""
    return rounds >= FIRST_ROUND and rounds & (rounds - 1) == 0


@dataclass
class RoundMonitor:
    """Turns a booster's raw output at a round into a loss and asks whether to stop.

    Adapters call :meth:`report` at rounds where :func:`is_report_round` holds;
    ``cache`` holds what an adapter builds once per fit (an XGBoost DMatrix).
    Only built-in metrics are monitored (a custom metric needs a fitted estimator).
    """

    task: "Task"
    metric: Metric
    fold: "Fold"
    on_value: Callable[[int, float], bool]
    stopped: bool = False
    cache: dict[str, Any] = field(default_factory=dict)
    active: bool = True

    @property
    def X_val(self) -> pd.DataFrame:
        return self.fold.X_val

    @property
    def n_classes(self) -> int:
        return self.fold.n_classes

    def report(self, rounds: int, output: np.ndarray) -> bool:
        """``output``: probabilities (1-D for binary) or regression values after ``rounds`` rounds."""
        output = np.asarray(output)
        if self.n_classes and output.ndim == 1:
            output = np.column_stack([1 - output, output])
        value = self.metric.loss(self.task.score_output(self.metric, output, self.fold))
        self.stopped = bool(self.on_value(rounds, float(value)))
        return self.stopped
