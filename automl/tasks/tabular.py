"""Independent tabular rows: binary and multiclass classification, regression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl.errors import InputError
from automl.tasks.base import EncodedTarget, Task

if TYPE_CHECKING:
    from automl.fitdata import FitData, Fold, Split
    from automl.metrics import Metric
    from automl.task import TaskSpec


class ClassificationTask(Task):
    """Labels of any orderable type, encoded 0..k-1; predictions are class probabilities."""

    estimator_kind = "classification"
    prediction = "proba"
    row_fidelity = True

    def encode_target(self, y: pd.Series) -> EncodedTarget:
        try:
            classes, encoded = np.unique(y.to_numpy(), return_inverse=True)
        except TypeError as exc:
            raise InputError(f"y mixes label types that cannot be ordered ({exc}); use labels of one type.") from exc
        return EncodedTarget(encoded.astype(int), classes)

    def encode_known(self, y: pd.Series, target: EncodedTarget) -> np.ndarray:
        assert target.classes is not None  # set by encode_target
        values = y.to_numpy()
        known = set(target.classes.tolist())
        unknown = sorted({str(v) for v in values if v not in known})
        if unknown:
            raise InputError(f"y has label(s) {unknown[:5]} not seen at fit (known: {target.classes.tolist()}); "
                             "score on known labels.")
        return np.searchsorted(target.classes, values)

    def splits(self, data: "FitData", method: str, spec: "TaskSpec", seed: int) -> list["Split"]:
        from automl.validation import holdout_split, kfold_splits

        if method == "cv":
            return kfold_splits(data.y, spec.n_splits, seed, stratify=True)
        return holdout_split(data.y, spec.validation_fraction(len(data)), seed, stratify=True)

    def predict_output(self, model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
        from automl.objective import align_proba

        return align_proba(np.asarray(model.predict_proba(X), dtype=float), model, n_classes)

    def score_output(self, metric: "Metric", output: np.ndarray, fold: "Fold") -> float:
        prediction = output if metric.needs_proba else output.argmax(axis=1)
        return float(metric.fn(fold.y_val, prediction))

    def decode(self, prediction: np.ndarray, target: EncodedTarget) -> np.ndarray:
        assert target.classes is not None  # set by encode_target
        return target.classes[np.asarray(prediction).astype(int)]


class BinaryTask(ClassificationTask):
    kind = metric_kind = "binary"
    default_metric = "roc_auc"

    def check_target(self, y: pd.Series, spec: "TaskSpec") -> None:
        from automl.tasks import check_labels

        check_labels(y)
        n_classes = int(y.nunique())
        if n_classes != 2:
            raise InputError(f'task="binary" but y has {n_classes} classes; use task="classification".')


class MulticlassTask(ClassificationTask):
    kind = metric_kind = "multiclass"
    default_metric = "log_loss"

    def check_target(self, y: pd.Series, spec: "TaskSpec") -> None:
        from automl.tasks import check_labels

        check_labels(y)


class RegressionTask(Task):
    """A numeric target; predictions are values."""

    kind = metric_kind = "regression"
    estimator_kind = "regression"
    default_metric = "r2"
    row_fidelity = True

    def check_target(self, y: pd.Series, spec: "TaskSpec") -> None:
        if y.dtype == object and pd.api.types.is_numeric_dtype(pd.Series(y.tolist())):  # numbers held as objects
            return
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise InputError(f'task="regression" needs a numeric target, but y has dtype {y.dtype}; '
                             'convert it or use task="classification".')

    def splits(self, data: "FitData", method: str, spec: "TaskSpec", seed: int) -> list["Split"]:
        from automl.validation import holdout_split, kfold_splits

        if method == "cv":
            return kfold_splits(data.y, spec.n_splits, seed, stratify=False)
        return holdout_split(data.y, spec.validation_fraction(len(data)), seed, stratify=False)
