"""automl: hyperparameter tuning with one API from a laptop to a Ray cluster, every trial in MLflow."""

from __future__ import annotations

__version__ = "0.1.0"

from automl.api import AutoML  # noqa: E402
from automl.errors import AutoMLError, InputError, NotFittedError, SpaceError  # noqa: E402
from automl.metrics import METRICS, Metric  # noqa: E402
from automl.model import TunedModel  # noqa: E402
from automl.space import Param, SearchSpace  # noqa: E402
from automl.task import TaskSpec  # noqa: E402

__all__ = [
    "AutoML",
    "AutoMLError",
    "InputError",
    "METRICS",
    "Metric",
    "NotFittedError",
    "Param",
    "SearchSpace",
    "SpaceError",
    "TaskSpec",
    "TunedModel",
    "__version__",
]
