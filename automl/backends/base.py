"""The execution plug-in: run the ask -> evaluate -> tell loop until the budget ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from automl.budget import Budget
from automl.strategies import Strategy
from automl.study import Study, Trial, TrialResult

if TYPE_CHECKING:
    from automl.objective import Objective

TrialCallback = Callable[[Study, Trial], None]
Evaluate = Callable[[Trial, "float | None"], TrialResult]
#: A refit's outcome: the model (None where it could not run) and whether it completed by its deadline.
Refitted = tuple[Any, bool]


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

    def refit_slots(self) -> int:
        """How many refits on all rows :meth:`fit_all_rows` runs at once (an ensemble's members)."""
        ...

    def fit_all_rows(self, objective: "Objective", trials: list[Trial], deadline: float | None) -> list[Refitted]:
        """Each of ``trials`` refitted on all rows by ``deadline``, started in the order given, in that order; the
        refits stop (the rest ``(None, False)``) once one did not complete."""
        ...

    def close_reserve_s(self) -> float:
        """Seconds :meth:`close` takes (kept free at the end of the budget)."""
        ...

    def close(self) -> None:
        """Release what the search kept for the refits (Ray: its workers, and the session it opened)."""
        ...


def parallel_seconds(seconds: list[float], slots: int) -> float:
    """The wall time of jobs taking ``seconds`` on ``slots`` workers, each next longest one on the least loaded
    worker (the order :meth:`Backend.fit_all_rows` is given them in)."""
    loads = [0.0] * max(slots, 1)
    for value in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += value
    return max(loads)


def fit_in_turn(objective: "Objective", trials: list[Trial], deadline: float | None) -> list[Refitted]:
    """:meth:`Backend.fit_all_rows` in this process, one trial after another."""
    out: list[Refitted] = []
    for trial in trials:
        if out and not out[-1][1]:
            out.append((None, False))
            continue
        out.append(objective.fit_all_rows(trial, deadline))
    return out
