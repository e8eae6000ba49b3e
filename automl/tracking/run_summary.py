"""What the MLflow UI shows of a job beyond its metrics: the run's description and its training data as an input.

The description (tag ``mlflow.note.content``, markdown, the run page's "Description") says the task, the data's
shape, the shipped model and its score, the top five trials, where the time went and where the report is. The
training data is logged as a dataset input (context "training"): its fingerprint as the digest, the model's input
schema, the number of rows and elements as its profile, and the data file as its source when the job read one.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from automl.records import Trial

NOTE_TAG = "mlflow.note.content"
#: Tag naming the data file a job read (set by ``automl tune``); the dataset input's source.
DATA_SOURCE_TAG = "automl.data_source"
TOP_TRIALS = 5


def description(job: dict[str, Any], leaderboard: pd.DataFrame, best: Trial | None, summary: dict[str, Any],
                refit: str | None = None) -> str:
    """The run's description: a few lines of markdown."""
    metric = job.get("metric", "score")
    lines = [f"**automl {job.get('task', '')} job**, metric `{metric}` ({job.get('metric_direction', '')}), "
             f"{_validation(job)}."]
    lines.append(f"Data: {job.get('n_rows', '?')} rows x {job.get('n_features', '?')} features "
                 f"({job.get('n_categorical', 0)} categorical{_sparsity(job)}), fingerprint "
                 f"`{job.get('data_fingerprint', '?')}`.")
    if best is not None:
        shipped = "an ensemble" if "ensemble_score" in summary else f"`{best.estimator}` (trial {best.trial_id})"
        score = summary.get("ensemble_score", best.score)
        lines.append(f"Shipped: {shipped}, validation {metric} **{_number(score)}**"
                     + (f"; refit: {refit}" if refit else "") + ".")
    else:
        lines.append("No trial finished.")
    counts = ", ".join(f"{int(n)} {status}" for status, n in leaderboard["status"].value_counts().items()) \
        if "status" in leaderboard else ""
    lines.append(f"Trials: {len(leaderboard)} ({counts}).")
    top = leaderboard.head(TOP_TRIALS)
    if len(top):
        lines += ["", "| trial | family | status | score | seconds |", "|---|---|---|---|---|"]
        for row in top.itertuples(index=False):
            lines.append(f"| {row.trial_id} | {row.estimator} | {row.status} | {_number(row.score)} | "
                         f"{_number(getattr(row, 'duration_s', None), 2)} |")
    spent = {k[:-2]: v for k, v in summary.items() if k.endswith("_s") and isinstance(v, (int, float))}
    if spent:
        lines += ["", "Time: " + ", ".join(f"{name} {float(v):.1f} s" for name, v in spent.items())
                  + (f" of a {float(job['time_budget']):g} s budget" if job.get("time_budget") not in (None, "") else "")
                  + "."]
    lines += ["", "The job report is the artifact `report.html`; every trial is a nested run, the leaderboard "
                  "`leaderboard.csv`."]
    return "\n".join(lines)


def training_dataset(job: dict[str, Any], input_example: pd.DataFrame | None, source: str | None) -> Any:
    """The training data as an MLflow dataset entity (the rows themselves are not copied)."""
    from mlflow.entities import Dataset

    schema = None
    if input_example is not None:
        from mlflow.models import infer_signature

        schema = json.dumps({"mlflow_colspec": infer_signature(input_example).inputs.to_dict()})
    rows, features = int(job.get("n_rows", 0) or 0), int(job.get("n_features", 0) or 0)
    profile = json.dumps({"num_rows": rows, "num_elements": rows * features})
    if source:
        return Dataset("training", str(job.get("data_fingerprint", "")), "local", json.dumps({"uri": source}), schema,
                       profile)
    return Dataset("training", str(job.get("data_fingerprint", "")), "code",
                   json.dumps({"tags": {"automl.source": "a DataFrame passed to AutoML.fit"}}), schema, profile)


def _sparsity(job: dict[str, Any]) -> str:
    """", sparse (1.2% stored)" for a sparse X; params read back from MLflow are strings."""
    if str(job.get("sparse", False)) != "True":
        return ""
    return f", sparse ({100 * float(job.get('density', 0.0)):.2g}% stored)"


def _validation(job: dict[str, Any]) -> str:
    if job.get("backtest_windows"):
        return f"{job['backtest_windows']} backtest window(s)"
    if job.get("eval_method") == "cv":
        return f"{job.get('n_splits', '?')}-fold cross-validation"
    return f"holdout of {job.get('holdout_fraction', '?')} of the rows"


def _number(value: Any, digits: int = 5) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return "" if number != number else f"{number:.{digits}g}"  # NaN: blank
