"""The estimator-family plug-in: a search space plus how to build and fit one configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np
import pandas as pd

from automl.space import SearchSpace, load_builtin

if TYPE_CHECKING:
    from automl.cost import FitShape
    from automl.monitor import RoundMonitor


@dataclass(frozen=True)
class BuildContext:
    """What every family needs beyond its hyperparameters."""

    task: str  # the task's estimator kind: "classification", "regression" or "rank"
    n_classes: int
    n_jobs: int
    seed: int
    categorical_features: tuple[str, ...] = ()
    device: str = "cpu"  # "cuda" when the trial was given a GPU
    gpu_limits: bool = False  # keep the GPU learner's limits: the CPU refit of a trial that trained on a GPU
    options: Mapping[str, Any] = field(default_factory=dict)  # the task's build options (forecasting: season, horizon)


class EstimatorAdapter:
    """One estimator family.

    Subclasses set ``name``, ``tasks`` and ``cost_rank`` (cheaper families are
    tried first) and implement :meth:`build`; :meth:`fit` may honour a deadline
    by stopping early and returning ``False``.
    """

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")
    cost_rank: ClassVar[int] = 50
    in_auto: ClassVar[bool] = True  # part of estimators="auto"
    #: Configurations its search tries right after its default, on any data (a baseline's plain variants); those
    #: outside the job's space are skipped.
    starts: ClassVar[tuple[dict[str, Any], ...]] = ()
    #: Early stopping may stop its trials after a fold; False for a baseline, which every job evaluates whole.
    prunable: ClassVar[bool] = True
    accepts_sparse: ClassVar[bool] = False  # fits and predicts on a CSR matrix as it is (``automl.sparse``)
    #: Its fit stops at the deadline (boosting rounds, forest chunks). A family whose fit cannot be stopped (a
    #: statistical model in C) is not started on a fold it is not expected to finish before the deadline.
    stops_at_deadline: ClassVar[bool] = True
    rounds_param: ClassVar[str | None] = None  # the parameter counting the steps it reports on a holdout split
    libraries: ClassVar[tuple[str, ...]] = ()  # modules its fitted models need (imported early by the MLflow writer)
    #: Seconds per unit of each term of :meth:`cost_terms`, fitted by ``python -m benchmarks.cost_model``.
    cost_coefficients: ClassVar[dict[str, float]] = {"fit": 0.01, "work": 1e-8}

    @classmethod
    def missing_dependency(cls) -> str | None:
        """Why this family cannot run here (an optional package is missing), or None."""
        return None

    def search_space(self) -> SearchSpace:
        """The family's shipped space (before task filtering and data-dependent bounds)."""
        return load_builtin(self.name)

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        raise NotImplementedError

    def trained_on(self, model: Any) -> str | None:
        """The device a fitted model actually trained on ("cpu", "cuda", ...), or None where it cannot be told."""
        return None

    def size_mb(self, model: Any) -> float | None:
        """A fitted model's size when pickled, estimated cheaply (no pickling), for families whose models can be
        large enough to take seconds to ship and record; None: small (boosters, linear models)."""
        return None

    def cost_terms(self, config: dict[str, Any], shape: "FitShape") -> dict[str, float]:
        """What one fit does, counted in the family's own units: here one fit and one pass over the data."""
        return {"fit": 1.0, "work": shape.rows * shape.features}

    def cost_hint(self, config: dict[str, Any], shape: "FitShape") -> float:
        """Estimated seconds of one single-thread fit of ``config`` on data of ``shape``; deterministic."""
        terms = self.cost_terms(config, shape)
        return sum(self.cost_coefficients.get(name, 0.0) * max(value, 0.0) for name, value in terms.items())

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: "RoundMonitor | None" = None,
            extras: Mapping[str, np.ndarray] | None = None) -> bool:
        """Fit ``model``; return ``False`` when it stopped early (``deadline`` in monotonic seconds, or ``monitor``).

        Families with training rounds report the validation loss to ``monitor``
        at :func:`automl.monitor.is_report_round` rounds and stop when it says so.
        ``extras`` are the fitted rows' per-row arrays by name (``FitData.row_arrays``: "groups" for ranking);
        a family uses those it understands.
        """
        model.fit(X, y)
        return True
