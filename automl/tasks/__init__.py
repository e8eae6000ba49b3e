"""Task kinds, by name: each a ``Task`` plug-in (see ``automl.tasks.base``)."""

from __future__ import annotations

import pandas as pd

from automl.errors import InputError
from automl.registry import Registry
from automl.tasks.base import EncodedTarget, Task

TASKS: Registry[type[Task]] = Registry("task", "task")
TASKS.register("binary", "automl.tasks.tabular:BinaryTask")
TASKS.register("multiclass", "automl.tasks.tabular:MulticlassTask")
TASKS.register("regression", "automl.tasks.tabular:RegressionTask")
TASKS.register("forecast", "automl.tasks.forecast:ForecastTask")
TASKS.register("rank", "automl.tasks.ranking:RankTask")
#: Other names of registered kinds: a ``TaskSpec`` made with one holds the registered name.
ALIASES = {"ranking": "rank"}
#: A task name that becomes binary or multiclass once y is seen.
CLASSIFICATION = "classification"


def get_task(kind: str) -> Task:
    """The plug-in registered as ``kind``."""
    return TASKS.get(kind)()


def infer_kind(kind: str, y: pd.Series) -> str:
    """``kind`` made concrete from ``y``: "classification" is binary with two classes, multiclass with more."""
    if kind != CLASSIFICATION:
        return kind
    check_labels(y)
    n_classes = int(y.nunique())
    return "binary" if n_classes == 2 else "multiclass"


def check_labels(y: pd.Series) -> None:
    """Class labels: at least two classes, and not a continuous target (scikit-learn's "Unknown label type")."""
    from sklearn.utils.multiclass import type_of_target

    if pd.api.types.is_float_dtype(y) and type_of_target(y.dropna().to_numpy()) == "continuous":
        example = next(v for v in y.dropna() if float(v) != int(v))
        raise InputError(f"y holds continuous values (such as {example!r}), which are not class labels: Unknown label "
                         'type: continuous; use task="regression", or pass the classes as labels.')
    if int(y.nunique()) < 2:
        raise one_class_error(y)


def one_class_error(y: pd.Series) -> InputError:
    """The sentence for a classification target with one class (scikit-learn's checks look for "one class")."""
    label = y.iloc[0].item() if hasattr(y.iloc[0], "item") else y.iloc[0]
    return InputError(f"y has one class only (all {len(y)} rows are {label!r}); classification needs rows of at least "
                      "two classes.")


def estimator_kinds() -> list[str]:
    """What families and space parameters may declare they serve."""
    return list(dict.fromkeys(TASKS.get(name).estimator_kind for name in TASKS.names()))


__all__ = ["ALIASES", "CLASSIFICATION", "TASKS", "EncodedTarget", "Task", "estimator_kinds", "get_task", "infer_kind",
           "check_labels", "one_class_error"]
