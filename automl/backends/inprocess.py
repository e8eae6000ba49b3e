"""Sequential trials in this process: the lowest overhead per trial, fully reproducible."""

from __future__ import annotations

from automl.backends.base import BackendOptions, Evaluate, TrialCallback
from automl.budget import Budget
from automl.strategies import Strategy
from automl.study import Study


class InProcessBackend:
    """Evaluate one trial at a time, each with the job's ``n_jobs`` threads."""

    def __init__(self, options: BackendOptions | None = None) -> None:
        self.options = options or BackendOptions()

    def run(self, study: Study, strategy: Strategy, objective: Evaluate, budget: Budget, on_trial_end: TrialCallback) -> None:
        while not budget.search_over(len(study.trials)):
            suggestion = strategy.ask()
            if suggestion is None:
                return
            trial = study.start(suggestion)
            result = objective(trial, budget.search_deadline())
            study.finish(trial, result)
            strategy.tell(suggestion, trial)
            on_trial_end(study, trial)
