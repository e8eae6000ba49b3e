"""What a job will do, worked out from the settings and the data before anything is fitted.

``AutoML.fit`` runs the plan; ``AutoML.plan`` (and ``automl tune --dry-run``) only shows it: task, metric,
families, strategy and why, validation, budget, the data's shape, as the job's MLflow parameters record them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from automl import __version__
from automl.data import DataSummary, check_features, check_xy
from automl.errors import InputError
from automl.estimators import get_adapter
from automl.portfolio import NEAREST, START_BUDGET_SHARE, DataShape, Portfolio
from automl.problem import TuningProblem, build_problem
from automl.records import direction
from automl.strategies import resolve_strategy_name
from automl.tuning import JobSettings

if TYPE_CHECKING:
    from automl.api import AutoML

logger = logging.getLogger(__name__)


@dataclass
class JobPlan:
    """The frozen problem, the settings with the strategy resolved, and the job's MLflow parameters and tags."""

    problem: TuningProblem
    settings: JobSettings
    frame: pd.DataFrame
    params: dict[str, Any]
    tags: dict[str, str]
    reason: str  # why this strategy


def plan_job(automl: "AutoML", X: Any, y: Any, groups: Any, fit_options: dict[str, Any]) -> JobPlan:
    """Check every parameter and the data, build the problem (splits, spaces), resolve the strategy."""
    settings = automl._check_settings()
    spec = automl._task_spec().with_fit_options(**fit_options)
    frame, target = check_xy(X, y, allow_missing_target=spec.missing_target_ok)
    check_features(frame, y)
    problem = build_problem(spec, frame, target, automl.estimators, automl.search_space, automl.time_budget,
                            automl.seed, groups)
    if settings.constraints is not None and not problem.task.latency_per_row:
        raise InputError(f'constraints apply to classification, regression and ranking, not to task="{problem.spec.kind}"; '
                         "drop constraints.")
    strategy, reason = resolve_strategy_name(automl.strategy, problem.summary.n_rows, problem.summary.n_features,
                                             automl.time_budget)
    if settings.objectives and automl.strategy == "auto":
        strategy, reason = "tpe", f"objectives {', '.join(('score', *settings.objectives))}: multi-objective TPE"
    logger.info("strategy=%s (%s)", strategy, reason)
    portfolio = {} if settings.portfolio is None else portfolio_starts(settings.portfolio, problem, automl.time_budget)
    own = {family: configs for family in problem.families if (configs := family_starts(problem, family))}
    starts = {family: configs for family in problem.families
              if (configs := [*own.get(family, []), *portfolio.get(family, [])])}
    settings = replace(settings, strategy=strategy, starts=starts, own_starts={f: len(c) for f, c in own.items()})
    params, tags = job_record(automl, problem, settings, reason)
    return JobPlan(problem, settings, frame, params, tags, reason)


def job_record(automl: "AutoML", problem: TuningProblem, settings: JobSettings,
               reason: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The job's MLflow parameters (its settings, the data's shape and the problem's fingerprints) and tags."""
    kind, summary = problem.spec.kind, problem.summary
    params: dict[str, Any] = {
        "task": kind, "metric": problem.metric.name, "time_budget": automl.time_budget, "max_trials": automl.max_trials,
        "strategy": settings.strategy, "strategy_requested": automl.strategy, "early_stop": settings.early_stop,
        "seed": automl.seed, "eval_method": problem.eval_method, "n_splits": problem.spec.n_splits,
        "holdout_fraction": problem.spec.validation_fraction(summary.n_rows),
        "estimators": ",".join(problem.families), "n_jobs": settings.n_jobs, "backend": automl.backend,
        "device": settings.device,
        "n_rows": summary.n_rows, "n_features": summary.n_features, "n_categorical": summary.n_categorical,
        "n_classes": summary.n_classes, "sparse": summary.sparse, "density": round(summary.density, 6),
        "metric_direction": direction(problem.metric.greater_is_better),
        **settings.backend_options.as_params(), **problem.fingerprints, "problem_id": problem.identity(),
        **({} if settings.constraints is None else settings.constraints.as_params()),
        **({"objectives": ",".join(("score", *settings.objectives))} if settings.objectives else {}),
        **problem.task.job_params(problem.spec, list(problem.splits)),
        **warm_start_params(problem, settings),
        "param_scales": ";".join(f"{name}={scale}" for name, scale in problem.space.scales().items()),  # the report's axes
    }
    tags = {"automl.version": __version__, "automl.task": kind, "automl.strategy": settings.strategy,
            "automl.strategy_reason": reason, "automl.job_name": job_name(kind, settings.strategy, summary, params)}
    return params, tags


def family_starts(problem: TuningProblem, family: str) -> list[dict[str, Any]]:
    """The family's own starts (``EstimatorAdapter.starts``) that lie in the job's space and are not its default."""
    space = problem.space
    default = space.spaces[family].default_config()
    return [dict(c) for c in get_adapter(family).starts if space.contains(family, dict(c)) and dict(c) != default]


def portfolio_starts(portfolio: Portfolio, problem: TuningProblem, time_budget: float | None) -> dict[str, list[dict[str, Any]]]:
    """The portfolio's starting configurations for this data, each expected to cost at most
    ``START_BUDGET_SHARE`` of the time budget (``TuningProblem.cost_model``: estimated, so a seed still fixes them)."""
    if time_budget is None:
        return portfolio.starts(data_shape(problem), problem.space)
    cost, limit = problem.cost_model(), START_BUDGET_SHARE * time_budget
    return portfolio.starts(data_shape(problem), problem.space, affordable=lambda f, c: cost.estimate(f, c) <= limit)


def warm_start_params(problem: TuningProblem, settings: JobSettings) -> dict[str, Any]:
    """Where the search's starting configurations come from: the portfolio, how many, the nearest data sets."""
    if settings.portfolio is None:
        return {"warm_start": "off", "warm_start_configs": 0}
    nearest = [e.dataset for e in settings.portfolio.ranked(data_shape(problem))[:NEAREST]]
    own = sum(settings.own_starts.values())
    return {"warm_start": settings.portfolio.source, "warm_start_configs": sum(map(len, settings.starts.values())) - own,
            "warm_start_nearest": ",".join(nearest)}


def data_shape(problem: TuningProblem) -> DataShape:
    """The data's shape as the portfolio compares it (task kind, rows, features, categorical share, classes)."""
    summary = problem.summary
    return DataShape.of(problem.spec.kind, summary.n_rows, summary.n_features, summary.n_categorical, summary.n_classes)


def job_name(kind: str, strategy: str, summary: DataSummary, params: dict[str, Any]) -> str:
    """The job's MLflow run name: its task, strategy, data shape and a short hash of its parameters, so that the
    fits of one cross_val_score or GridSearchCV (other rows, other settings) read apart in the runs list."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"automl-{kind}-{strategy}-{summary.n_rows}x{summary.n_features}-{digest}"
