"""The execution plug-in: run the ask -> evaluate -> tell loop until the budget ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from automl.budget import Budget
from automl.strategies import Strategy
from automl.study import Study, Trial, TrialResult

TrialCallback = Callable[[Study, Trial], None]
Evaluate = Callable[[Trial, "float | None"], TrialResult]


@dataclass(frozen=True)
class BackendOptions:
    """How trials are spread over workers; only the Ray backend runs more than one at a time.

    ``resources_per_trial`` maps "cpu" / "gpu" to amounts (fractions allowed);
    ``ray_address`` is None (start a local Ray instance), "auto" or an address;
    ``trial_retries`` is how often a trial whose worker died is run again
    before it is recorded as failed; ``trial_timeout`` caps each trial's
    seconds (beyond the budget's own limit on it); ``memory_limit_mb`` runs
    in-process trials in a child process whose data segment is capped at it.
    """

    n_concurrent_trials: int = 1
    resources_per_trial: dict[str, float] = field(default_factory=dict)
    ray_address: str | None = None
    trial_retries: int = 0
    trial_timeout: float | None = None
    memory_limit_mb: int | None = None

    def as_params(self) -> dict[str, Any]:
        """The options as flat job parameters (for the MLflow record)."""
        return {
            "n_concurrent_trials": self.n_concurrent_trials,
            "resources_per_trial": ",".join(f"{k}={v:g}" for k, v in sorted(self.resources_per_trial.items())) or None,
            "ray_address": self.ray_address,
            "trial_retries": self.trial_retries,
            "trial_timeout": self.trial_timeout,
            "memory_limit_mb": self.memory_limit_mb,
        }


class Backend(Protocol):
    """Runs trials; the in-process backend is the reference implementation."""

    def __init__(self, options: BackendOptions) -> None: ...

    def overrun_s(self, budget: Budget) -> float:
        """The most seconds a trial may run past the search deadline before the search has given it up and moved on."""
        ...

    def run(
        self,
        study: Study,
        strategy: Strategy,
        objective: Evaluate,
        budget: Budget,
        on_trial_end: TrialCallback,
    ) -> None: ...
