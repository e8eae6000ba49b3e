"""automl: hyperparameter tuning with one API from a laptop to a Ray cluster, every trial in MLflow.

The public names are imported on first use, so that ``import automl`` (and the MLflow writer process, which
imports only the tracking modules) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "AutoML": "automl.api",
    "AutoMLError": "automl.errors",
    "InputError": "automl.errors",
    "InputTypeError": "automl.errors",
    "NotFittedError": "automl.errors",
    "SpaceError": "automl.errors",
    "METRICS": "automl.metrics",
    "Metric": "automl.metrics",
    "TunedModel": "automl.model",
    "Portfolio": "automl.portfolio",
    "DataShape": "automl.portfolio",
    "Param": "automl.space",
    "SearchSpace": "automl.space",
    "TaskSpec": "automl.task",
    "load_model": "automl.persistence",
    "save_model": "automl.persistence",
    "TASKS": "automl.tasks",
    "Task": "automl.tasks",
}

if TYPE_CHECKING:
    from automl.api import AutoML
    from automl.errors import AutoMLError, InputError, InputTypeError, NotFittedError, SpaceError
    from automl.metrics import METRICS, Metric
    from automl.model import TunedModel
    from automl.persistence import load_model, save_model
    from automl.portfolio import DataShape, Portfolio
    from automl.space import Param, SearchSpace
    from automl.task import TaskSpec
    from automl.tasks import TASKS, Task


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'automl' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = sorted([*_PUBLIC, "__version__"])
