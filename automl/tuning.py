"""One tuning job from prepared inputs to a fitted model: the data flow of ``AutoML.fit``."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from automl.backends import BACKENDS, BackendOptions
from automl.budget import Budget
from automl.cost import CostModel, FitShape
from automl.data import DataSummary, TabularPreprocessor
from automl.errors import AutoMLError
from automl.estimators import get_adapter
from automl.metrics import CustomMetric, Metric
from automl.model import TunedModel
from automl.objective import Objective
from automl.resume import replay
from automl.space import JointSpace, SearchSpace, load_file, merge_overrides
from automl.schedulers import make_scheduler
from automl.strategies import STRATEGIES
from automl.study import Study, Trial
from automl.task import TaskSpec
from automl.tracking import Tracker
from automl.validation import Split

logger = logging.getLogger(__name__)
#: Safety factor on the refit estimate (all rows instead of one fold's training rows).
REFIT_MARGIN = 1.3


@dataclass
class JobResult:
    study: Study
    model: TunedModel
    refit: str  # "all rows", "validation-fold model", or "all rows, cut at the time budget" (a replayed best trial)
    time_spent: dict[str, float] = field(default_factory=dict)


def build_space(families: list[str], task: str, summary: DataSummary, overrides: Mapping[str, Any] | None) -> JointSpace:
    """Each family's space (shipped, or overridden by a file or a dict), resolved on the data."""
    spaces: dict[str, SearchSpace] = {}
    overrides = dict(overrides or {})
    for family in families:
        space = get_adapter(family).search_space()
        override = overrides.get(family)
        if isinstance(override, Mapping):
            space = merge_overrides(space, override)
        elif override is not None:
            space = load_file(override, family=family)
        spaces[family] = space.for_task(task, summary.bound_names())
    return JointSpace(spaces)


def run_job(
    *,
    X: pd.DataFrame,
    y: np.ndarray,
    preprocessor: TabularPreprocessor,
    task: TaskSpec,
    metric: Metric | CustomMetric,
    space: JointSpace,
    splits: list[Split],
    strategy_name: str,
    early_stop: str | None,
    backend_name: str,
    backend_options: BackendOptions,
    budget: Budget,
    tracker: Tracker,
    n_jobs: int,
    seed: int,
    classes: np.ndarray | None,
    callbacks: list[Callable[[Study, Trial], None]],
    recorded: list[Trial] | None = None,
) -> JobResult:
    """Search (after replaying ``recorded`` trials of the job being resumed), then refit the best on all rows."""
    families = space.families
    n_classes = 0 if classes is None else len(classes)
    categorical = tuple(preprocessor.categorical_features_)
    adapters = {f: get_adapter(f) for f in families}
    objective = Objective(
        X, y, splits, metric, adapters, task.family_task, n_classes, n_jobs, categorical, make_scheduler(early_stop)
    )
    train_rows = float(np.mean([len(train) for train, _ in splits]))
    cost_model = CostModel(adapters, FitShape(train_rows, X.shape[1], n_classes), n_fits=len(splits))
    strategy = STRATEGIES.get(strategy_name)(space, seed, families, cost_model=cost_model)
    study = Study(seed)
    budget.reserve_s = tracker.finish_reserve_s

    def on_trial_end(study: Study, trial: Trial) -> None:
        tracker.log_trial(trial, strategy_name)
        if study.best is not None:
            budget.reserve_s = tracker.finish_reserve_s + refit_estimate(study.best, len(y), train_rows)
        for callback in callbacks:
            callback(study, trial)

    search_started = time.monotonic()
    if recorded:
        replayed = replay(recorded, study, strategy, objective, budget.max_trials, on_trial_end, budget.search_deadline)
        logger.info("Resumed: %d recorded trial(s) replayed without fitting.", replayed)
    BACKENDS.get(backend_name)(backend_options).run(study, strategy, objective, budget, on_trial_end)
    search_s = time.monotonic() - search_started
    if study.best is None:
        errors = sorted({t.error for t in study.trials if t.error})[:3]
        raise AutoMLError(
            f"No trial finished successfully in {len(study.trials)} attempt(s) (errors: {errors or 'none'}); "
            "raise time_budget or check the data and estimators."
        )
    refit_started = time.monotonic()
    model, refit = _refit(study, objective, budget, tracker, train_rows)
    timings = {"search_s": search_s, "refit_s": time.monotonic() - refit_started}
    return JobResult(study, TunedModel(preprocessor, model, classes), refit, timings)


def refit_estimate(best: Trial, n_rows: int, train_rows: float) -> float:
    """Seconds a refit of ``best`` on all rows is expected to take."""
    return best.fit_time_s * (n_rows / max(train_rows, 1.0)) * REFIT_MARGIN


def _refit(study: Study, objective: Objective, budget: Budget, tracker: Tracker, train_rows: float) -> tuple[Any, str]:
    best = study.best
    assert best is not None  # checked by the caller
    end = budget.end - tracker.finish_reserve_s
    if best.replayed and study.best_model is None:  # no model of it in memory: the refit is the only model there is
        model, completed = objective.fit_all_rows(best, None if budget.time_budget is None else end)
        if not completed:  # boosting and forests stopped at the deadline are fewer rounds or trees, still a model
            logger.warning("The refit of the best (replayed) trial reached the time budget; keeping what it fitted by then.")
            return model, "all rows, cut at the time budget"
        return model, "all rows"
    if end - time.monotonic() < refit_estimate(best, len(objective.y), train_rows) / REFIT_MARGIN:
        logger.info("Not enough budget left to refit on all rows; keeping the best trial's validation-fold model.")
        return study.best_model, "validation-fold model"
    model, completed = objective.fit_all_rows(best, None if budget.time_budget is None else end)
    if not completed:
        logger.info("The refit on all rows reached the time budget; keeping the best trial's validation-fold model.")
        return study.best_model, "validation-fold model"
    return model, "all rows"
