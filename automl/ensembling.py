"""A job's ensemble phase: choose members the time left can refit, then refit them on all rows.

Selection (greedy weights, ``automl.ensemble``; or a stack, ``automl.stacking``) runs over the kept
out-of-fold predictions. When refitting the chosen members on all rows would not fit the time left,
the members expected to refit slowest (never the best trial) are dropped from the candidates until the
rest would fit, and the selection runs again, so the job ships the best ensemble it can afford instead of giving up on one
(hotel_rates at 30 s: an ensemble of 6 trials beat the best on every resample, but its refits did not
fit, and the job shipped the single best trial). The backend refits the members: on Ray, as many at once as
it has workers, so their expected time is the longest worker's share (``parallel_seconds``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import numpy as np

from automl.backends import Backend
from automl.backends.base import parallel_seconds
from automl.backends.inprocess import InProcessBackend
from automl.ensemble import EnsembleModel, EnsemblePlan, greedy_weights, mean_of, near_best, select
from automl.metrics import CustomMetric
from automl.objective import Objective
from automl.problem import TuningProblem
from automl.stacking import StackedModel, StackPlan, plan_stack
from automl.study import Study, Trial

logger = logging.getLogger(__name__)
Plan = EnsemblePlan | StackPlan
#: The most of the search's time that choosing the likely members (to reserve their refits) may take.
SELECTION_SHARE = 0.05
#: That choice is a cheaper greedy selection: over the best kept trials only, for fewer rounds (sklearn's metrics
#: take 2-4 ms a call, so the shipped ensemble's 25 rounds over 20 kept trials take 1.3-2 s on 2,000-10,000 rows).
LIKELY_CANDIDATES, LIKELY_ROUNDS = 10, 10


class EnsembleBuilder:
    """Plans and refits the ensemble of ``study``'s kept trials for ``choice`` ("auto", True or "stack")."""

    def __init__(self, problem: TuningProblem, study: Study, objective: Objective, choice: str | bool,
                 refit_seconds: Callable[[Trial], float], backend: Backend | None = None,
                 measure_seconds: Callable[[Trial], float] = lambda trial: 0.0) -> None:
        self.problem, self.study, self.objective, self.choice = problem, study, objective, choice
        self.refit_seconds = refit_seconds  # expected seconds of one trial's refit on all rows
        self.measure_seconds = measure_seconds  # expected seconds of measuring its refit model (constraints)
        self.backend = backend or InProcessBackend()  # where the members refit
        self._likely: list[int] = []  # the members of the last selection run during the search
        self._likely_of: tuple[int, ...] = ()  # the kept trials it chose from
        self._next_selection = 0.0  # monotonic time before which no new selection runs (SELECTION_SHARE)

    def possible(self) -> bool:
        return self.choice is not False and not isinstance(self.problem.metric, CustomMetric)

    def likely_members(self, fallback: int) -> list[int]:
        """The kept trials an ensemble shipped now would likely refit: greedy selection's members over the kept
        predictions (for a stack, or before a selection can run: the ``fallback`` best kept trials).

        What the search reserves time for. A selection (:data:`LIKELY_ROUNDS` rounds over the
        :data:`LIKELY_CANDIDATES` best kept trials) runs again only when the kept trials changed, and no more than
        :data:`SELECTION_SHARE` of the time passes in it; in between, the last members still kept stand, with the
        best trial. The best 5 kept trials, reserved before, held back 6.0 s of a 30 s ames_housing job whose
        shipped 7-member ensemble was expected to refit in 2.1 s.
        """
        kept = tuple(t for t, _ in self.study.oof.best())
        best = self.study.best
        if self.choice == "stack" or best is None or best.trial_id not in kept or len(kept) < 2:
            return list(kept[:fallback])
        if self.problem.task.combine_best:  # the plan's members: the best and the next best kept trials near it
            return self._near_best(list(kept), best.trial_id)
        if kept != self._likely_of and time.monotonic() >= self._next_selection:
            started = time.monotonic()
            _, predictions, loss = self._kept_predictions(LIKELY_CANDIDATES)
            # the best trial's predictions may be on other rows than the first kept trial's: no selection then
            chosen = (greedy_weights(predictions, best.trial_id, loss, LIKELY_ROUNDS) if best.trial_id in predictions
                      else kept[:fallback])
            self._likely, self._likely_of = list(chosen), kept
            self._next_selection = time.monotonic() + (time.monotonic() - started) / SELECTION_SHARE
        return [best.trial_id] + [t for t in self._likely if t in kept and t != best.trial_id]

    def _kept_predictions(self, limit: int | None = None) -> tuple[np.ndarray, dict[int, np.ndarray], Any]:
        """The validation rows, the (``limit`` best) kept trials' predictions on them, best first, and the job's loss
        on them."""
        kept = self.study.oof.best()[:limit]
        rows = kept[0][1].rows
        predictions = {t: _as_float64(p.values) for t, p in kept if np.array_equal(p.rows, rows)}
        problem = self.problem
        loss = problem.task.oof_loss(problem.metric, problem.spec, problem.data, list(problem.splits), rows,
                                     problem.target.n_classes)
        return rows, predictions, loss

    def plan(self, time_left: float | None) -> Plan | None:
        """The ensemble to ship (its refits expected to fit ``time_left`` seconds), or None."""
        kept = self.study.oof.best()
        best = self.study.best
        if not self.possible() or best is None or best.trial_id not in self.study.oof or len(kept) < 2:
            return None
        rows, predictions, loss = self._kept_predictions()
        deadline = None if time_left is None else time.monotonic() + time_left
        if time_left is not None:  # a member whose own refit does not fit cannot be in any ensemble that does
            too_slow = [t for t in predictions
                        if t != best.trial_id and self.seconds([t]) > time_left]
            if too_slow:
                logger.info("Trial(s) %s left out of the ensemble: each one's refit alone would not fit the time left.",
                            too_slow)
            predictions = {t: p for t, p in predictions.items() if t not in too_slow}
        while True:
            plan = self._choose(predictions, best.trial_id, rows, loss)
            if plan is None:
                return None
            if deadline is not None and time.monotonic() >= deadline:  # a selection on many rows takes seconds
                logger.info("Choosing the ensemble took the time left; shipping the best trial.")
                return None
            time_left = None if deadline is None else deadline - time.monotonic()
            others = [t for t in plan.members if t != best.trial_id]
            if not self._within_limits(plan):  # members' latencies and sizes add up
                costliest = max(others, key=lambda t: sum(self._measured(t).values()))
                logger.info("The ensemble with trial %d would break the constraints; choosing again without it.", costliest)
                del predictions[costliest]
                continue
            if time_left is None or self._seconds(plan) <= time_left:
                return plan
            # the slowest members out until the rest would fit (one selection again, not one per member: a
            # selection over 75,000 validation rows takes seconds)
            dropped, kept = [], list(plan.members)
            for trial in sorted(others, key=lambda t: -self.seconds([t])):
                if self.seconds(kept) <= time_left:
                    break
                kept.remove(trial)
                dropped.append(trial)
                del predictions[trial]
            logger.info("Refitting trial(s) %s with the ensemble would not fit the time left; choosing again without "
                        "them.", dropped)

    def _measured(self, trial_id: int) -> dict[str, float]:
        """The trial's measurements that the job's constraints limit, as shares of each limit."""
        constraints = self.objective.constraints
        limits = {} if constraints is None else constraints.limits()
        metrics = self.study.trials[trial_id].metrics
        return {name: metrics.get(name, 0.0) / limit for name, limit in limits.items()}

    def _within_limits(self, plan: Plan) -> bool:
        """An ensemble predicts with every member and stores them all: their summed measurements are its own."""
        if self.objective.constraints is None:
            return True
        shares = [self._measured(t) for t in plan.members]
        return all(sum(share[name] for share in shares) <= 1.0 for name in shares[0])

    def _seconds(self, plan: Plan) -> float:
        return self.seconds(plan.members)

    def seconds(self, members: list[int]) -> float:
        """Expected seconds to ship ``members``: the backend's refits (on Ray: several at once), then measuring the
        ensemble here (each member's predictions and size: their measurements add up)."""
        trials = [self.study.trials[t] for t in members]
        refits = parallel_seconds([self.refit_seconds(t) for t in trials], self.backend.refit_slots())
        return refits + sum(self.measure_seconds(t) for t in trials)

    def _choose(self, predictions: dict[int, np.ndarray], best: int, rows: np.ndarray, loss: Any) -> Plan | None:
        problem = self.problem
        if len(predictions) < 2:
            return None
        if self.choice == "stack":
            ranked = [t for t, _ in self.study.oof.best() if t in predictions]
            families = {t: self.study.trials[t].estimator for t in ranked}
            stack = plan_stack(predictions, ranked, families, problem.data.y[rows], loss,
                               problem.task.prediction == "proba", problem.target.n_classes, problem.seed)
            if stack is not None:
                logger.info("Stack of %d trials: cross-validated validation loss %.5g against the best trial's %.5g "
                            "(lower on %.0f%% of resamples).", len(stack.members), stack.loss, stack.best_loss,
                            100 * stack.gain_share)
            return stack
        if problem.task.combine_best:
            members = self._near_best([t for t, _ in self.study.oof.best() if t in predictions], best)
            if len(members) < 2:
                return None
            plan = mean_of(predictions, members, best, loss, problem.seed)
            logger.info("Mean of the %d best trials: validation loss %.5g against the best trial's %.5g; shipped if its "
                        "members refit in time.", len(plan.weights), plan.loss, plan.best_loss)
            return plan
        plan = select(predictions, best, loss, problem.seed)
        wins = plan.beats_best() or (self.choice is True and len(plan.weights) > 1)
        logger.info("Ensemble of %d trials: validation loss %.5g against the best trial's %.5g (lower on %.0f%% of "
                    "resamples): %s.", len(plan.weights), plan.loss, plan.best_loss, 100 * plan.gain_share,
                    "shipped if its members refit in time" if wins else "not shipped")
        return plan if wins else None

    def _near_best(self, ranked: list[int], best: int) -> list[int]:
        """The forecast combination's members among ``ranked`` kept trials (``Task.combine_best``, ``combine_within``)."""
        task = self.problem.task
        losses = {t: self.study.trials[t].loss for t in ranked}
        return near_best(ranked, best, losses, int(task.combine_best or 1), task.combine_within)

    def refit(self, plan: Plan, end: float | None) -> EnsembleModel | StackedModel | None:
        """The members refit on all rows by ``end``, or None (the single best is shipped) when that does not fit."""
        members = [self.study.trials[t] for t in plan.members]
        if end is not None and end - time.monotonic() < self._seconds(plan):
            logger.info("Refitting the ensemble's %d members does not fit the time left; shipping the best trial.",
                        len(members))
            return None
        slowest_first = sorted(range(len(members)), key=lambda i: -self.refit_seconds(members[i]))
        try:
            refitted = self.backend.fit_all_rows(self.objective, [members[i] for i in slowest_first], end)
        except Exception as exc:  # noqa: BLE001 - a member that fit its folds may fail on all rows: ship the best
            logger.warning("A member's refit on all rows failed (%s: %s); shipping the best trial instead of the "
                           "ensemble.", type(exc).__name__, exc)
            return None
        if not all(completed for _, completed in refitted):
            logger.info("A member's refit reached the time budget; shipping the best trial instead of the ensemble.")
            return None
        fitted: list[Any] = [None] * len(members)
        for i, (model, _) in zip(slowest_first, refitted):
            fitted[i] = model
        metric = self.problem.metric
        score = -plan.loss if metric.greater_is_better else plan.loss
        proba, n_classes = self.problem.task.prediction == "proba", self.problem.target.n_classes
        if isinstance(plan, StackPlan):
            return StackedModel(fitted, plan, proba, n_classes, score)
        return EnsembleModel([(m, plan.weights[t.trial_id]) for m, t in zip(fitted, members)], proba, n_classes,
                             [t.trial_id for t in members], score)


def _as_float64(values: np.ndarray) -> np.ndarray:
    """Kept predictions as float64; class probabilities renormalised so their rows sum to 1."""
    out = values.astype(float)
    return out / out.sum(axis=1, keepdims=True) if out.ndim == 2 else out
