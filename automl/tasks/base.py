"""The task plug-in: what a kind of task does with the fit data, its target and its predictions.

Everything that depends on the kind of task lives in one ``Task`` subclass:
how the target is checked and encoded, how the fit data is split for
validation, which features are learned per fold, what a prediction is, how a
metric is called, and what the saved model's predict returns. Nothing outside
``automl/tasks/`` branches on a task name; a new kind (forecasting, ranking)
is one more subclass registered in ``automl.tasks.TASKS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from automl.fitdata import FitData, Fold, Split
    from automl.metrics import CustomMetric, Metric
    from automl.task import TaskSpec


@dataclass(frozen=True)
class EncodedTarget:
    """The target as estimators see it, and how to turn predictions back into the user's values."""

    values: np.ndarray
    classes: np.ndarray | None = None  # original labels, ordered as the encoded 0..k-1; None for numeric targets

    @property
    def n_classes(self) -> int:
        return 0 if self.classes is None else len(self.classes)


class Task:
    """One kind of task; instances are stateless (the spec's settings come with each call).

    ``estimator_kind`` is what estimator families and search-space parameters
    declare they serve ("classification", "regression"); ``metric_kind`` is what
    metrics declare they apply to; ``prediction`` is what :meth:`predict_output`
    returns ("proba": class probabilities, "value").
    """

    kind: ClassVar[str]
    estimator_kind: ClassVar[str]
    metric_kind: ClassVar[str]  # the kind named in a metric's ``tasks`` (a variant of a kind shares its metrics)
    default_metric: ClassVar[str]
    prediction: ClassVar[str] = "value"

    def check_target(self, y: pd.Series, spec: "TaskSpec") -> None:
        """Raise ``InputError`` in one sentence when ``y`` cannot be this task's target."""

    def encode_target(self, y: pd.Series) -> EncodedTarget:
        return EncodedTarget(y.to_numpy(dtype=float))

    def encode_known(self, y: pd.Series, target: EncodedTarget) -> np.ndarray:
        """New targets (``score``) encoded as at fit."""
        return y.to_numpy(dtype=float)

    def splits(self, data: "FitData", method: str, spec: "TaskSpec", seed: int) -> list["Split"]:
        """Validation index pairs (train, validation) over the whole fit data."""
        raise NotImplementedError

    #: A target may have missing values (a gap inside a series' history); tabular targets may not.
    missing_target_ok: ClassVar[bool] = False

    def fit_data(self, X: pd.DataFrame, target: EncodedTarget, spec: "TaskSpec", groups: Any = None) -> "FitData":
        """The fit data: the user's columns, the encoded target and the per-row arrays this kind uses.

        ``groups`` (one id per row) is for kinds that use them; the others refuse it in one sentence.
        """
        from automl.errors import InputError
        from automl.fitdata import FitData

        if groups is not None:
            raise InputError(f'groups was passed, but task="{self.kind}" does not use groups; '
                             'drop it (groups are for task="rank").')
        return FitData(X, target.values)

    def make_preprocessor(self, spec: "TaskSpec") -> Any:
        """A fresh feature transform, fitted on each fold's training rows (and on all rows for the shipped model).

        It has ``fit(X, y)``, ``transform(X)`` and ``categorical_features_`` (the output columns estimators
        treat as categories).
        """
        from automl.data import TabularPreprocessor

        return TabularPreprocessor()

    def predict_output(self, model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
        """What the task predicts for preprocessed rows: kept as out-of-fold predictions and scored."""
        return np.asarray(model.predict(X), dtype=float)

    def score_output(self, metric: "Metric", output: np.ndarray, fold: "Fold") -> float:
        """A built-in metric on the task's predictions for the fold's validation rows."""
        return float(metric.fn(fold.y_val, output))

    def score(self, metric: "Metric | CustomMetric", model: Any, output: np.ndarray, fold: "Fold",
              config: dict[str, Any] | None = None) -> tuple[float, dict[str, float]]:
        """The metric's value for a fitted model on the fold's validation rows, and the values to log."""
        from automl.metrics import CustomMetric

        if isinstance(metric, CustomMetric):
            labels = np.arange(fold.n_classes) if fold.n_classes else None
            value, logs = metric.fn(fold.X_val, fold.y_val, model, labels, fold.X_train, fold.y_train,
                                    None, None, config, fold.extras.get("groups_val"), fold.extras.get("groups_train"))
            return float(value), {k: float(v) for k, v in (logs or {}).items()}
        value = self.score_output(metric, output, fold)
        return value, {metric.log_name: value}

    def decode(self, prediction: np.ndarray, target: EncodedTarget) -> np.ndarray:
        """A model's ``predict`` output in the user's values."""
        return np.asarray(prediction, dtype=float)
