"""What a job report shows, gathered from a finished job or from its MLflow runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.records import maximizes, trials_frame


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
    ensemble: list[dict[str, Any]] = field(default_factory=list)  # a shipped ensemble's members: trial_id, estimator, weight
    ensemble_score: float | None = None
    task_report: dict[str, Any] | None = None  # the task kind's own data ("kind": forecast's series, rank's queries)

    @property
    def metric(self) -> str:
        return str(self.job.get("metric", "score"))

    def scales(self, family: str) -> dict[str, str]:
        """``family``'s parameters that its space declares "log" or "categorical" (job parameter ``param_scales``);
        empty for a job recorded before it, whose charts infer categories from the values."""
        pairs = (item.partition("=") for item in str(self.job.get("param_scales") or "").split(";") if item)
        return {name[len(family) + 1:]: scale for name, _, scale in pairs if name.startswith(f"{family}.")}

    def ok(self) -> pd.DataFrame:
        return self.trials[self.trials.status == "ok"]

    def best(self) -> pd.Series | None:
        ok = self.ok().dropna(subset=["score"])
        if ok.empty:
            return None
        return ok.loc[ok.score.idxmax() if self.maximize else ok.score.idxmin()]


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
    trials = automl.study_.trials
    members, score = ensemble_of(automl.pipeline_, trials_frame(trials))
    return JobRecord(ensemble=members, ensemble_score=score,job=dict(automl.job_params_), trials=trials_frame(trials),
                     intermediate={t.trial_id: t.intermediate for t in trials}, time_split=dict(automl.time_spent_),
                     feature_importance=feature_importance(automl.pipeline_), maximize=maximizes(automl.job_params_),
                     run_id=getattr(automl, "mlflow_run_id_", None), task_report=report_data(automl.pipeline_))


def ensemble_of(model: Any, trials: pd.DataFrame) -> tuple[list[dict[str, Any]], float | None]:
    """A shipped ensemble's members (trial id, family, weight) and its validation score; ([], None) otherwise."""
    estimator = getattr(model, "estimator", None)
    ids = getattr(estimator, "trial_ids", None)
    if not ids:
        return [], None
    family = dict(zip(trials["trial_id"], trials["estimator"]))
    members = [{"trial_id": int(t), "estimator": family.get(t, ""), "weight": float(w)}
               for t, (_, w) in zip(ids, estimator.members)]
    return members, getattr(estimator, "score", None)


def report_data(model: Any) -> dict[str, Any] | None:
    """The task's own report data for a shipped model (a forecast's series), or None; never fails the report."""
    task = getattr(model, "task", None)
    try:
        return None if task is None else task.report_data(model)
    except Exception:  # noqa: BLE001 - the report goes on without that chart
        return None
