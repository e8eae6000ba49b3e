"""What a job report shows, gathered from a finished job or from its MLflow runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd


@dataclass
class JobRecord:
    """One tuning job as the report sees it.

    ``trials`` has one row per trial: trial_id, estimator, status, score,
    duration_s, started_at (epoch seconds), error, last_step and ``param.*``
    columns; ``intermediate`` maps trial ids to their (step, loss) reports.
    """

    job: dict[str, Any]  # the parent run's parameters: task, metric, n_rows, strategy, time_budget, ...
    trials: pd.DataFrame
    intermediate: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    time_split: dict[str, float] = field(default_factory=dict)  # search_s, refit_s, elapsed_s, total_s
    feature_importance: dict[str, float] = field(default_factory=dict)
    maximize: bool = True  # the metric's direction
    run_id: str | None = None

    @property
    def metric(self) -> str:
        return str(self.job.get("metric", "score"))

    def ok(self) -> pd.DataFrame:
        return self.trials[self.trials.status == "ok"]

    def best(self) -> pd.Series | None:
        ok = self.ok().dropna(subset=["score"])
        if ok.empty:
            return None
        return ok.loc[ok.score.idxmax() if self.maximize else ok.score.idxmin()]


def trials_frame(trials: Iterable[Any]) -> pd.DataFrame:
    """The report's trial table from ``automl.study.Trial`` objects."""
    rows = []
    for t in trials:
        row = {"trial_id": t.trial_id, "estimator": t.estimator, "status": t.status, "score": t.score,
               "duration_s": t.duration_s, "started_at": t.started_at, "error": t.error,
               "last_step": t.last_step, "worker": getattr(t, "worker", "")}
        row.update({f"param.{k}": v for k, v in t.config.items()})
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["trial_id", "estimator", "status", "score", "duration_s", "started_at", "error"])
    return pd.DataFrame(rows).sort_values("trial_id").reset_index(drop=True)


def feature_importance(model: Any, limit: int = 30) -> dict[str, float]:
    """The fitted estimator's importances (split counts, impurity, mean |coefficient|) by the user's column
    names, largest first, normalised to sum to 1 (over all features, so a top-``limit`` list may sum to less)."""
    estimator = getattr(model, "estimator", model)
    names = getattr(estimator, "feature_names_in_", None)
    if hasattr(estimator, "steps"):  # a scikit-learn pipeline (scaling + linear model): the last step decides
        estimator = estimator.steps[-1][1]
    values = getattr(estimator, "feature_importances_", None)
    if values is None and hasattr(estimator, "coef_"):
        values = np.abs(np.atleast_2d(estimator.coef_)).mean(axis=0)
    if values is None:
        return {}
    if names is None or len(names) != len(values):
        names = [f"feature {i}" for i in range(len(values))]
    values = np.asarray(values, dtype=float)
    total = values.sum()
    if not math.isfinite(total) or total <= 0:
        return {}
    preprocessor = getattr(model, "preprocessor", None)  # the user's column names, not the model-safe ones
    readable = {safe: user for user, safe in getattr(preprocessor, "output_names_", {}).items()}
    ranked = sorted(zip((readable.get(str(n), str(n)) for n in names), values / total), key=lambda kv: -kv[1])[:limit]
    return {name: float(value) for name, value in ranked}


def record_from_automl(automl: Any) -> JobRecord:
    """The record of a fitted ``automl.AutoML`` (e.g. a model file written by ``automl tune``)."""
    task, trials = automl.task_, automl.study_.trials
    job = {"task": task.kind, "metric": automl.metric_, "time_budget": automl.time_budget, "max_trials": automl.max_trials,
           "strategy": automl.strategy_, "early_stop": automl.early_stop, "eval_method": automl.eval_method_,
           "estimators": ",".join(dict.fromkeys(t.estimator for t in trials)), "backend": automl.backend,
           "n_concurrent_trials": automl.n_concurrent_trials, "seed": automl.seed, "n_features": automl.n_features_in_}
    from automl.metrics import METRICS

    maximize = automl.metric_ in METRICS and METRICS.get(automl.metric_).greater_is_better  # custom metrics: minimised
    return JobRecord(job=job, trials=trials_frame(trials), intermediate={t.trial_id: t.intermediate for t in trials},
                     time_split=dict(automl.time_spent_), feature_importance=feature_importance(automl.pipeline_),
                     maximize=maximize, run_id=getattr(automl, "mlflow_run_id_", None))
