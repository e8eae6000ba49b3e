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
    n_classes = int(y.nunique())
    if n_classes < 2:
        raise InputError(f"y has a single class ({y.iloc[0]!r}); classification needs at least two.")
    return "binary" if n_classes == 2 else "multiclass"


def estimator_kinds() -> list[str]:
    """What families and space parameters may declare they serve."""
    return list(dict.fromkeys(TASKS.get(name).estimator_kind for name in TASKS.names()))


__all__ = ["ALIASES", "CLASSIFICATION", "TASKS", "EncodedTarget", "Task", "estimator_kinds", "get_task", "infer_kind"]
