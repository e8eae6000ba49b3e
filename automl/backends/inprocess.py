"""Sequential trials in this process: the lowest overhead per trial, fully reproducible.

Each trial runs in a thread of its own that the search waits for up to the trial's time limit: the time
to the search deadline plus :func:`grace_s` (and at most ``trial_timeout``). A trial past it (code that
never checks the clock: a custom metric that sleeps, a native call that does not return) is recorded as
failed with the reason and left behind in its daemon thread, so the job still ends inside its budget;
Python cannot stop a thread, so the abandoned trial runs on until it returns or the process exits.
With ``memory_limit_mb`` the trials run in a child process instead (``trial_process``), which a trial
past its limit takes down with it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from automl.backends.base import BackendOptions, Evaluate, Refitted, TrialCallback, fit_in_turn
from automl.budget import Budget
from automl.openmp import release_thread_pools
from automl.strategies import Strategy
from automl.study import FAILED, Study, Trial, TrialResult

if TYPE_CHECKING:
    from automl.objective import Objective

logger = logging.getLogger(__name__)
#: Seconds the search takes to move on from a trial it gave up: the wait's wake-up, the warning, the strategy's
#: tell (measured 0.1-0.2 s on a 6 s forecast job with 2 cores; CI machines run about twice as slow).
GIVE_UP_S = 0.3


def grace_s(budget: Budget) -> float:
    """Seconds a trial may run past the search deadline before the search stops waiting for it."""
    return 1.0 + 0.02 * (budget.time_budget or 0.0)


def trial_limit(budget: Budget, trial_timeout: float | None) -> float | None:
    """The seconds the next trial may take (None: no limit: no time budget and no ``trial_timeout``)."""
    deadline = budget.search_deadline()
    limits = [trial_timeout] if trial_timeout is not None else []
    if deadline is not None:
        limits.append(max(0.0, deadline - time.monotonic()) + grace_s(budget))
    return min(limits) if limits else None


class InProcessBackend:
    """Evaluate one trial at a time, each with the job's ``n_jobs`` threads."""

    def __init__(self, options: BackendOptions | None = None) -> None:
        self.options = options or BackendOptions()
        self.abandoned: list[threading.Thread] = []  # trials left running past their time limit

    def overrun_s(self, budget: Budget) -> float:
        return grace_s(budget) + GIVE_UP_S

    def run(self, study: Study, strategy: Strategy, objective: Evaluate, budget: Budget, on_trial_end: TrialCallback) -> None:
        release_thread_pools()  # a pool this thread kept would make OpenMP throttle every trial thread (automl.openmp)
        child = None
        if self.options.memory_limit_mb is not None:
            from automl.backends.trial_process import TrialProcess

            child = TrialProcess(objective, self.options.memory_limit_mb)
        try:
            while not budget.search_over(len(study.trials)):
                suggestion = strategy.ask()
                if suggestion is None:
                    return
                trial = study.start(suggestion)
                deadline, limit = budget.search_deadline(), trial_limit(budget, self.options.trial_timeout)
                if child is None:
                    result = self.evaluate(objective, trial, deadline, limit)
                else:
                    result = child.evaluate(trial, deadline, limit, *study.keep_bounds())
                study.finish(trial, result)
                strategy.tell(suggestion, trial)
                on_trial_end(study, trial)
        finally:
            if child is not None:
                child.close()

    def refit_slots(self) -> int:
        return 1

    def fit_all_rows(self, objective: "Objective", trials: list[Trial], deadline: float | None) -> list[Refitted]:
        return fit_in_turn(objective, trials, deadline)

    def close_reserve_s(self) -> float:
        return 0.0

    def close(self) -> None:
        pass

    def evaluate(self, objective: Evaluate, trial: Trial, deadline: float | None, limit_s: float | None) -> TrialResult:
        """``objective(trial, deadline)``, given up after ``limit_s`` seconds (None: waited for however long)."""
        if limit_s is None:
            return objective(trial, deadline)
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["result"] = objective(trial, deadline)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the search's thread
                outcome["error"] = exc

        thread = threading.Thread(target=target, name=f"automl-trial-{trial.trial_id}", daemon=True)
        thread.start()
        thread.join(limit_s)
        if thread.is_alive():
            self.abandoned.append(thread)
            reason = (f"still running {limit_s:.1f} s after it started, past its time limit (code that does not check "
                      "the clock); the search went on without it")
            logger.warning("Trial %d (%s): %s.", trial.trial_id, trial.estimator, reason)
            return TrialResult(FAILED, error=reason, fit_time_s=limit_s)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]
