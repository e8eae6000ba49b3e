"""The execution plug-in: run the ask -> evaluate -> tell loop until the budget ends."""

from __future__ import annotations

from typing import Callable, Protocol

from automl.budget import Budget
from automl.strategies import Strategy
from automl.study import Study, Trial, TrialResult

TrialCallback = Callable[[Study, Trial], None]
Evaluate = Callable[[Trial, "float | None"], TrialResult]


class Backend(Protocol):
    """Runs trials; the in-process backend is the reference implementation."""

    def run(
        self,
        study: Study,
        strategy: Strategy,
        objective: Evaluate,
        budget: Budget,
        on_trial_end: TrialCallback,
    ) -> None: ...
