"""The fitted model a job produces: the learned preprocessing plus the best estimator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.data import TabularPreprocessor
from automl.errors import InputError
from automl.objective import align_proba
from automl.tasks import EncodedTarget, Task


class TunedModel:
    """Predicts from raw user tables, exactly as at fit (categories, dates, column order).

    This is what ``AutoML.fit`` refits, what MLflow stores and what the CLI writes.
    """

    def __init__(self, preprocessor: TabularPreprocessor, estimator: Any, classes: np.ndarray | None, task: Task,
                 task_options: dict[str, Any] | None = None) -> None:
        self.preprocessor = preprocessor
        self.estimator = estimator
        self.classes_ = classes
        self.task = task
        self.task_options = dict(task_options or {})  # the task's build options (forecasting: season, horizon)

    @property
    def feature_names_in_(self) -> list[str]:
        return list(self.preprocessor.input_columns_)

    def predict(self, X: Any) -> np.ndarray:
        prediction = self.estimator.predict(self.preprocessor.transform(X))
        return self.task.decode(prediction, EncodedTarget(np.empty(0), self.classes_))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.classes_ is None:
            raise InputError("predict_proba is only available for classification; use predict for regression.")
        proba = self.estimator.predict_proba(self.preprocessor.transform(X))
        return align_proba(np.asarray(proba), self.estimator, len(self.classes_))

    def predict_interval(self, X: Any, coverage: float = 0.9) -> pd.DataFrame:
        """Forecasting: lower and upper bounds at ``coverage`` for each row of ``X`` (columns lower, upper)."""
        if isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not 0 < coverage < 1:
            raise InputError(f"coverage={coverage!r} is invalid; pass a share between 0 and 1 (e.g. 0.9).")
        return self.task.predict_interval(self, X, float(coverage))

    def __repr__(self) -> str:
        return f"TunedModel({type(self.estimator).__name__}, features={len(self.feature_names_in_)})"
