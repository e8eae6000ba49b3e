"""The one place that runs a tuning job: search (after replaying a resumed job's trials), then refit the best."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from threadpoolctl import threadpool_limits

from automl.backends import BACKENDS, BackendOptions
from automl.budget import Budget
from automl.constraints import REPEATS, Constraints, closest, measure, transform_cost
from automl.errors import AutoMLError, InputError
from automl.ensemble import EnsemblePlan
from automl.ensembling import EnsembleBuilder
from automl.model import TunedModel
from automl.portfolio import Portfolio
from automl.problem import TuningProblem
from automl.records import OK
from automl.resume import AskedFirst, replay
from automl.row_fidelity import MIN_ROWS, samples_rows
from automl.schedulers import make_scheduler
from automl.sparse import take_rows
from automl.stacking import StackPlan
from automl.strategies import STRATEGIES, Strategy
from automl.study import Study, Trial
from automl.tracking import Tracker

logger = logging.getLogger(__name__)
#: Safety factor on the refit estimate (all rows instead of one fold's training rows).
REFIT_MARGIN = 1.3
#: Kept trials whose refits the reserve covers when an ensemble may be shipped and greedy selection cannot say
#: which it would choose (a stack; fewer than two kept trials).
ENSEMBLE_RESERVE_MEMBERS = 5
#: The most of the time budget the likely members' refits may hold back from the search (the best trial's own
#: refit is always covered): the ensemble phase leaves out the members whose refits do not fit the time left, so
#: a larger reserve only ended searches early (a 20 s job stopped at 11 s for refits of costly kept trials, then
#: shipped an ensemble of two cheap ones).
ENSEMBLE_RESERVE_SHARE = 0.2
#: The most of the time budget reserved for refitting a best trial that fitted a subsample on all rows (its time
#: extrapolated from the subsample's: 75x for 10,000 of 750,000 rows, which held back 40 s of a 60 s search);
#: where the time left does not fit all rows, the refit takes as many as it does (``_refit_sample``).
SAMPLED_REFIT_SHARE = 0.25
#: Pickling speed assumed when reserving time to measure the shipped model's size (lending_club's 260 MB extra-trees
#: model pickled at 1.5 GB/s here; see ``measure_estimate``).
PICKLE_MB_PER_S = 1000.0


@dataclass(frozen=True)
class JobSettings:
    """How the problem is searched: strategy, early stopping, where trials run and with how many threads."""

    strategy: str
    early_stop: str
    backend: str
    backend_options: BackendOptions
    n_jobs: int
    ensemble: str | bool = "auto"  # "auto": ship an ensemble of the trials when it beats the best by more than noise
    constraints: Constraints | None = None  # deployment limits on each trial's model (automl.constraints)
    device: str = "cpu"  # where in-process trials train ("cuda": checked to exist before any work)
    objectives: tuple[str, ...] = ()  # measurements searched beside the score (automl.pareto)
    portfolio: Portfolio | None = None  # warm_start's portfolio (automl.portfolio); None: start from the defaults
    #: per family, the configurations tried after its default (set by the job's plan): first its own
    #: (``EstimatorAdapter.starts``, counted in ``own_starts``), then the portfolio's for this data
    starts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    own_starts: dict[str, int] = field(default_factory=dict)


@dataclass
class JobResult:
    study: Study
    model: TunedModel
    trial: Trial  # the trial whose configuration the model is
    refit: str  # "all rows", "validation-fold model", "all rows, cut at the time budget", or a note on which trial
    time_spent: dict[str, float] = field(default_factory=dict)
    ensemble: EnsemblePlan | StackPlan | None = None  # the shipped ensemble (weighted mean or stack of its members)
    measured: dict[str, float] = field(default_factory=dict)  # with constraints: the shipped model's, from raw rows


class JobRunner:
    """One job's objective, strategy and ledger, and the budget's reserve kept up to date as trials finish."""

    def __init__(self, problem: TuningProblem, settings: JobSettings, budget: Budget, tracker: Tracker,
                 callbacks: list[Callable[[Study, Trial], None]]) -> None:
        self.problem, self.settings, self.budget, self.tracker, self.callbacks = problem, settings, budget, tracker, callbacks
        if settings.ensemble == "stack" and not problem.task.stacks:
            raise InputError(f'ensemble="stack" does not apply to a {problem.spec.kind} task; pass ensemble="auto" or True '
                             "for a weighted ensemble.")
        measuring = settings.constraints or (Constraints() if settings.objectives else None)  # objectives are measured
        self.objective = problem.objective(settings.n_jobs, make_scheduler(settings.early_stop), settings.device,
                                           constraints=measuring)
        if measuring is not None:  # the shipped model transforms raw rows first: part of every latency
            with threadpool_limits(limits=settings.n_jobs):
                self.objective.transform_cost = transform_cost(problem.preprocessor.transform, problem.data.X,
                                                               measuring.batch_rows, take_rows)
        cost_model = problem.cost_model()
        self.strategy: Strategy = STRATEGIES.get(settings.strategy)(
            problem.space, problem.seed, problem.families, cost_model=cost_model, constraints=settings.constraints,
            **({"objectives": settings.objectives} if settings.objectives else {}),
            **({"starts": settings.starts, "own_starts": settings.own_starts} if settings.starts else {}))
        train_rows = int(self.objective.train_rows)
        if samples_rows(train_rows, len(problem.splits), problem.task.row_fidelity) and \
                self.strategy.sample_rows(train_rows):
            logger.info("Trials fit subsamples of the %d training rows, from %d rows up, as the %s search chooses.",
                        train_rows, MIN_ROWS, self.strategy.name)
        self.study = Study(problem.seed)
        self.backend = BACKENDS.get(settings.backend)(settings.backend_options)
        self.ensembles = EnsembleBuilder(problem, self.study, self.objective, settings.ensemble,
                                         lambda trial: self.refit_estimate(trial) / REFIT_MARGIN, self.backend,
                                         lambda trial: (self.measure_estimate(trial) + self.record_estimate(trial)) / REFIT_MARGIN)

    def run(self, recorded: list[Trial] | None) -> JobResult:
        """Search, then ship the best model; the backend (on Ray: its workers, for the ensemble's refits) is
        released once the refits are done."""
        try:
            return self._search_and_ship(recorded)
        finally:
            self.backend.close()

    def _refit_end(self) -> float:
        """When the refits must be done by: before the tracker's close and the backend's."""
        return self.budget.end - self.tracker.finish_reserve_s - self.backend.close_reserve_s()

    def _search_and_ship(self, recorded: list[Trial] | None) -> JobResult:
        self.update_reserve()
        search_started = time.monotonic()
        strategy = self.strategy
        if recorded:
            replayed, pending = replay(recorded, self.study, strategy, self.objective, self.budget.max_trials,
                                       self.on_trial_end)
            logger.info("Resumed: %d recorded trial(s) replayed without fitting.", replayed)
            if pending:  # asked already: the backend runs them first, like any new trial
                strategy = AskedFirst(strategy, pending)
        self.backend.run(self.study, strategy, self.objective, self.budget, self.on_trial_end)
        search_s = time.monotonic() - search_started
        self.objective.drop_training_copies()  # the refits fit all rows: the folds' copies are only memory now
        if self.study.best is None and self.study.fallback is not None:
            self._raise_if_none_feasible()  # trials that finished broke the limits: a cut one is no way round them
            return self._ship_fallback(search_s)
        if self.study.best is None:
            if not self.study.trials and self.study.unstarted_reason:
                raise AutoMLError(f"No trial was started: {self.study.unstarted_reason}.")
            if not self.study.trials and self.budget.search_over(0):
                raise AutoMLError(self._spent_before_the_first_trial(search_started))
            self._raise_if_none_feasible()
            errors = sorted({t.error for t in self.study.trials if t.error})[:3]
            raise AutoMLError(
                f"No trial finished successfully in {len(self.study.trials)} attempt(s) (errors: {errors or 'none'}); "
                "raise time_budget or check the data and estimators."
            )
        refit_started = time.monotonic()
        end = None if self.budget.time_budget is None else self._refit_end()
        plan = self.ensembles.plan(None if end is None else end - time.monotonic())
        slots = self.backend.refit_slots()
        shipped = self.ensembles.refit(plan, end) if plan is not None else None
        if shipped is not None:
            kind = "stack" if isinstance(plan, StackPlan) else "ensemble"
            trial, model, refit = self.study.best, shipped, f"{kind} of {len(plan.weights)} trials, each refit on all rows"  # type: ignore[union-attr]
            refit += f", {min(slots, len(plan.weights))} at a time on Ray workers" if slots > 1 else ""  # type: ignore[union-attr]
            fold = None
        else:
            self.backend.close()  # the refit runs here: Ray's workers and their copies of the data are only memory now
            trial, model, refit, fold = self.refit()
            plan = None
        timings = {"search_s": search_s, "refit_s": time.monotonic() - refit_started}
        self.backend.close()
        oof = self.study.oof.get(trial.trial_id) if trial.trial_id in self.study.oof else None  # type: ignore[union-attr]
        return self._result(trial, model, refit, timings, oof, plan, fold)  # type: ignore[arg-type]

    def _spent_before_the_first_trial(self, search_started: float) -> str:
        """Why a job with a time budget started no trial: its setup and the room kept at the end took it all."""
        budget = self.budget
        setup = search_started - budget.started
        return (f"time_budget={budget.time_budget:g} ran out before the first trial could start: {setup:.1f} s of it "
                f"went to preparing the data, and {budget.reserve_s + budget.slack_s:.1f} s are kept at its end for "
                "recording the job; raise time_budget.")

    def _raise_if_none_feasible(self) -> None:
        """Trials finished, but every one broke the constraints: say so, naming the closest."""
        constraints = self.settings.constraints
        near = None if constraints is None else closest(self.study.trials, constraints)
        if near is None:
            return
        measured = ", ".join(f"{name} {near.metrics[name]:.4g}" for name in constraints.limits())  # type: ignore[union-attr]
        floor = self.objective.transform_cost.get("predict_ms_per_row", 0.0)
        below_floor = (constraints.predict_ms_per_row is not None and floor >= constraints.predict_ms_per_row)  # type: ignore[union-attr]
        raise AutoMLError(
            f"No trial met the constraints ({constraints.describe()}) in {len(self.study.trials)} trial(s); the "  # type: ignore[union-attr]
            f"closest was trial {near.trial_id} ({near.estimator}: {measured})"
            + (f", and the feature transform of raw rows alone takes {floor:.4g} ms per row" if below_floor else "")
            + "; relax the limits, or pass estimators with smaller, faster models (e.g. lr) or a longer time_budget.")

    def _result(self, trial: Trial, model: Any, refit: str, timings: dict[str, float], oof: Any,
                plan: EnsemblePlan | None = None, fold: int | None = None) -> JobResult:
        """The shipped model (what the task learns from the search included) and the job's result; a fold model
        (``fold``: its fold's index) keeps the feature transform it was fitted with."""
        problem = self.problem
        preprocessor = problem.preprocessor
        if fold is not None and self.objective.folds[fold].preprocessor is not None:
            preprocessor = self.objective.folds[fold].preprocessor
        tuned = TunedModel(preprocessor, model, problem.target.classes, problem.task,
                           problem.task.build_options(problem.spec))
        problem.task.finish_model(tuned, problem.spec, problem.data, list(problem.splits), oof, trial)
        return JobResult(self.study, tuned, trial, refit, timings, plan, self._measure_shipped(tuned, trial, fold))

    def ship_trial(self, trial: Trial) -> JobResult:
        """``trial`` refitted on all rows as the job's model (``AutoML.select``: after the search, no deadline)."""
        started = time.monotonic()
        model, _ = self.objective.fit_all_rows(trial, None)
        oof = self.study.oof.get(trial.trial_id) if trial.trial_id in self.study.oof else None
        return self._result(trial, model, "all rows (selected from the Pareto front)",
                            {"refit_s": time.monotonic() - started}, oof)

    def _measure_shipped(self, tuned: TunedModel, trial: Trial, fold: int | None) -> dict[str, float]:
        """With constraints, the shipped model measured as it serves (raw rows in, feature transform included),
        logged as ``shipped_*``; a refit on all rows may be larger than its trial's fold model was. A shipped fold
        model is its trial's, measured so already (it ships because the time left was short)."""
        constraints = self.objective.constraints  # the job's limits, or none when it measures for its objectives
        if constraints is None:
            return {}
        if fold is not None and all(name in trial.metrics for name in ("predict_ms_per_row", "model_mb")):
            measured = {name: trial.metrics[name] for name in ("predict_ms_per_row", "predict_ms_single_row", "model_mb")
                        if name in trial.metrics}
        else:
            with threadpool_limits(limits=self.settings.n_jobs):
                measured = measure(tuned.predict, tuned, self.problem.data.X, constraints.batch_rows, take_rows)
        if constraints.broken(measured):
            logger.warning("The shipped model, measured with its feature transform, breaks the constraints (%s); its "
                           "trial's fold model met them.", ", ".join(constraints.broken(measured)))
        transform = {f"transform_{name.removeprefix('predict_')}": v for name, v in self.objective.transform_cost.items()}
        return {**{f"shipped_{name}": value for name, value in measured.items()}, **transform}

    def _ship_fallback(self, search_s: float) -> JobResult:
        """No trial finished inside the budget: ship the best one the deadline cut, as it was fitted by then."""
        trial, model, fold = self.study.fallback  # type: ignore[misc]
        self.backend.close()  # any refit runs here
        logger.warning("No trial finished inside the time budget; shipping trial %d (%s) as the deadline cut it. "
                       "Raise time_budget for a finished search.", trial.trial_id, trial.estimator)
        problem = self.problem
        if self.settings.constraints is not None:  # measuring it now would take the time the budget no longer has
            raise AutoMLError(f"No trial finished inside the time budget, so no model was measured against the "
                              f"constraints ({self.settings.constraints.describe()}); the deadline cut trial "
                              f"{trial.trial_id} ({trial.estimator}); raise time_budget.")
        refit = "validation-fold model, cut at the time budget"
        if not problem.task.fold_models_ship:  # a forecaster must end where the data ends: refit, cut if need be
            model, _ = self.objective.fit_all_rows(trial, self._refit_end())
            refit, fold = "all rows, cut at the time budget", None
        return self._result(trial, model, refit, {"search_s": search_s, "refit_s": 0.0}, None, fold=fold)

    def on_trial_end(self, study: Study, trial: Trial) -> None:
        self.tracker.log_trial(trial, self.settings.strategy)
        self.update_reserve()
        for callback in self.callbacks:
            callback(study, trial)

    def update_reserve(self) -> None:
        """Keep room at the end of the budget for the tracker's close and the best trial's refit (with ensembles:
        the refits of the members greedy selection would choose now, up to :data:`ENSEMBLE_RESERVE_SHARE` of the budget).

        Where no validation-fold model can ship (a forecaster must end where the data ends), the room also
        covers a last trial that runs past the search deadline as long as the backend lets it: without the
        refit such a job could ship only its cheapest trial. Until a trial has finished there is nothing to refit,
        and that room would only shorten the first trial (a 3 s forecast found none finished on a slow machine).
        """
        best = self.study.best
        refit = 0.0 if best is None else self.ship_estimate(best)
        if best is not None and best.rows is not None and self.budget.time_budget is not None:
            # a subsample's refit on all rows, extrapolated; what does not fit is refitted on fewer rows
            refit = min(refit, SAMPLED_REFIT_SHARE * self.budget.time_budget)
        if best is not None and self.ensembles.possible():
            likely = self.ensembles.likely_members(fallback=ENSEMBLE_RESERVE_MEMBERS)
            if self.budget.time_budget is not None:  # the ensemble phase leaves out members that do not fit the
                cap = ENSEMBLE_RESERVE_SHARE * self.budget.time_budget  # time left: no room for those beyond it
                likely = [t for t in likely
                          if t == best.trial_id or self.ensembles.seconds([t]) * REFIT_MARGIN <= max(cap, refit)]
            members = self.ensembles.seconds(likely) * REFIT_MARGIN
            if self.budget.time_budget is not None:
                members = min(members, cap)
            refit = max(refit, members)
        # only once there is a best trial to refit: before it, the room would cut the first trial short
        straggler = 0.0 if self.problem.task.fold_models_ship or best is None else self.backend.overrun_s(self.budget)
        self.budget.reserve_s = self.tracker.finish_reserve_s + refit + straggler

    def ship_estimate(self, trial: Trial) -> float:
        """Seconds to ship ``trial``: its refit on all rows, measuring the refit model where the job does, and
        recording it."""
        return self.refit_estimate(trial) + self.measure_estimate(trial) + self.record_estimate(trial)

    def record_estimate(self, trial: Trial) -> float:
        """Seconds the tracker takes to record ``trial``'s refit model beyond its usual close, from the fold model's
        size (measured with constraints, else the family's estimate; grown with the rows, as a forest grows).
        A 60 s diamonds job shipped an ensemble with two forests of 808 MB together, whose recording took 27 s:
        the job ended at 82 s."""
        metrics = trial.metrics
        size = metrics.get("model_mb", metrics.get("model_mb_estimate", 0.0)) * self._rows_ratio(trial)
        return self.tracker.model_write_s(size) * REFIT_MARGIN

    def measure_estimate(self, trial: Trial) -> float:
        """Seconds that measuring ``trial``'s refit model as it serves will take, where the job measures its shipped
        model (constraints): its timed predictions of a batch and of one row (each after a warm-up) and its pickle,
        from the trial's own measurements (the pickle grown with the rows, as a refit's forest does).
        lending_club's 260 MB extra-trees model took 3.0 s to measure (180 ms a single row), which the budget had not
        kept: a 20 s job ended at 22.0 s."""
        constraints = self.objective.constraints
        if constraints is None:
            return 0.0
        metrics = trial.metrics
        predict_s = (REPEATS + 1) * (metrics.get("predict_ms_per_row", 0.0) * constraints.batch_rows
                                     + metrics.get("predict_ms_single_row", 0.0)) / 1000.0
        pickle_s = metrics.get("model_mb", 0.0) / PICKLE_MB_PER_S * self._rows_ratio(trial)
        return (predict_s + pickle_s) * REFIT_MARGIN

    def refit_estimate(self, trial: Trial) -> float:
        """Seconds a refit of ``trial`` on all rows is expected to take."""
        return trial.fit_time_s * self._rows_ratio(trial) * REFIT_MARGIN

    def _rows_ratio(self, trial: Trial) -> float:
        """All rows over the rows ``trial`` fitted (a fold's training rows, or its subsample): how much more a refit
        fits than the trial did."""
        return len(self.problem.data) / max(trial.rows or self.objective.train_rows, 1.0)

    def refit(self) -> tuple[Trial, Any, str, int | None]:
        """The shipped model: the best trial refitted on all rows when that fits the time left (with the index of
        the fold a shipped fold model was fitted on, else None).

        Otherwise the best trial's validation-fold model; a replayed best trial has none in memory, so the
        best trial whose refit fits the time left is refitted instead (families that ignore the deadline
        would otherwise overrun the budget).
        """
        best = self.study.best
        assert best is not None  # checked by the caller
        end = self._refit_end()
        deadline = None if self.budget.time_budget is None else end

        def fits(trial: Trial) -> bool:
            return end - time.monotonic() >= self.ship_estimate(trial) / REFIT_MARGIN

        if self.study.best_model is not None and self.problem.task.fold_models_ship:
            if not fits(best) and best.rows is not None:  # fitted on a subsample: refit on the most rows that fit
                return self._refit_sample(best, end - time.monotonic(), deadline)
            if not fits(best):
                logger.info("Not enough budget left to refit on all rows; keeping the best trial's validation-fold model.")
                return best, self.study.best_model, "validation-fold model", -1
            model, completed = self.objective.fit_all_rows(best, deadline)
            if not completed:
                logger.info("The refit on all rows reached the time budget; keeping the best trial's validation-fold model.")
                return best, self.study.best_model, "validation-fold model", -1
            return best, model, "all rows", None
        chosen = self._refit_candidate(fits)
        model, completed = self.objective.fit_all_rows(chosen, deadline)
        refit = "all rows" if chosen is best else f"all rows (trial {chosen.trial_id}: the best trial's refit did not fit the time left)"
        if not completed:  # boosting and forests stopped at the deadline are fewer rounds or trees, still a model
            logger.warning("The refit of trial %d reached the time budget; keeping what it fitted by then.", chosen.trial_id)
            refit = f"{refit}, cut at the time budget"
        return chosen, model, refit, None

    def _refit_sample(self, best: Trial, time_left: float, deadline: float | None) -> tuple[Trial, Any, str, int | None]:
        """``best``, which fitted a subsample, refitted on the most of all rows its measured pace fits in
        ``time_left``; its validation-fold model where that is no more rows than it fitted."""
        total = len(self.problem.data)
        pace = best.fit_time_s / max(best.rows or 1, 1) * REFIT_MARGIN  # seconds per row
        rows = int(min(total, max(time_left - self.measure_estimate(best) - self.record_estimate(best), 0.0) / max(pace, 1e-9)))
        if rows <= (best.rows or 0):
            logger.info("Not enough budget left to refit on more rows; keeping the best trial's validation-fold model.")
            return best, self.study.best_model, "validation-fold model", -1
        logger.info("Refitting trial %d on %d of the %d rows: all of them would not fit the time left.",
                    best.trial_id, rows, total)
        model, completed = self.objective.fit_all_rows(best, deadline, rows=rows)
        if not completed:
            logger.info("The refit reached the time budget; keeping the best trial's validation-fold model.")
            return best, self.study.best_model, "validation-fold model", -1
        return best, model, f"{rows} of the {total} rows (all of them did not fit the time left)", None

    def _refit_candidate(self, fits: Callable[[Trial], bool]) -> Trial:
        """The best ok trial whose refit fits the time left, else the one expected to refit fastest."""
        ranked = sorted((t for t in self.study.trials if t.status == OK), key=lambda t: t.loss)  # type: ignore[arg-type, return-value]
        for trial in ranked:
            if fits(trial):
                return trial
        cheapest = min(ranked, key=self.ship_estimate)
        logger.warning("No trial's refit fits the time left; refitting trial %d, the fastest to refit.", cheapest.trial_id)
        return cheapest
