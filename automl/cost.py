"""Deterministic trial costs: seconds estimated from a configuration and the data's shape, never measured.

The family choice under TPE and random search weighs families by these
estimates, so the same seed and data give the same trials on any machine and
under any load, while a family whose configurations are expensive still gets
fewer trials. Each family counts its work in a few terms (``cost_terms``: one
fit, trees, leaves, rows x features x levels, ...); the seconds per unit of
each term were fitted to measured single-thread fit times by
``python -m benchmarks.cost_model``
(benchmarks/results/cost_model.json records the fit and how well the
estimates rank real costs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from automl.study import PRUNED, TIMEOUT, Trial

if TYPE_CHECKING:
    from automl.estimators import EstimatorAdapter


@dataclass(frozen=True)
class FitShape:
    """The data one fit sees."""

    rows: float  # training rows of one fit
    features: int
    n_classes: int = 0  # 0 for regression

    @property
    def outputs(self) -> int:
        """Trees per boosting round: one per class beyond binary."""
        return self.n_classes if self.n_classes > 2 else 1


class CostModel:
    """A trial's estimated cost in seconds: ``n_fits`` fits of its configuration (folds, or one holdout fit)."""

    def __init__(self, adapters: Mapping[str, EstimatorAdapter], shape: FitShape, n_fits: int = 1) -> None:
        self.adapters = dict(adapters)
        self.shape = shape
        self.n_fits = n_fits

    def estimate(self, family: str, config: dict[str, Any]) -> float:
        """Seconds the whole trial is expected to take on one thread."""
        return self.n_fits * self.adapters[family].cost_hint(config, self.shape)

    def of(self, trial: Trial) -> float:
        """The estimate scaled to the share of the trial that ran before early stopping cut it."""
        return self.estimate(trial.estimator, trial.config) * self.completed_share(trial)

    def completed_share(self, trial: Trial) -> float:
        if trial.status not in (PRUNED, TIMEOUT) or trial.last_step is None:
            return 1.0
        if self.n_fits > 1:  # cross-validation reports after each fold
            return min(1.0, trial.last_step / self.n_fits)
        rounds_param = self.adapters[trial.estimator].rounds_param  # boosting rounds, epochs
        rounds = trial.config.get(rounds_param) if rounds_param else None
        return min(1.0, trial.last_step / rounds) if rounds else 1.0
