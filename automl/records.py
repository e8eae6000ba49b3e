"""The one trial record and its codec: leaderboard rows, MLflow runs (written and read back), report rows.

Every place that turns a trial into something else, or back, goes through
here: ``Study.leaderboard``, the MLflow writer, ``automl report`` (from MLflow
or a model file) and ``automl resume``. A metric's direction is the metric's
own (``Metric.greater_is_better``); records carry it as the job parameter
``metric_direction`` and :func:`loss_of` is the one conversion of a score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import pandas as pd

if TYPE_CHECKING:
    from automl.tracking.trial_runs import TrialRun

OK, FAILED, PRUNED, TIMEOUT, RUNNING = "ok", "failed", "pruned", "timeout", "running"
INFEASIBLE = "infeasible"  # finished and scored, but its model breaks the job's constraints (automl.constraints)
#: Statuses in leaderboard order after the ok trials: breaking the constraints, stopped by early stopping, cut by
#: the time budget, failed.
RANK = {OK: 0, INFEASIBLE: 1, PRUNED: 2, TIMEOUT: 3, FAILED: 4, RUNNING: 5}
#: MLflow run status of a trial's run; KILLED is kept for jobs that were abandoned.
RUN_STATUS = {OK: "FINISHED", INFEASIBLE: "FINISHED", PRUNED: "FINISHED", TIMEOUT: "FINISHED", FAILED: "FAILED"}
#: Measurements of a trial's model shown as leaderboard columns where the job measured them (constraints).
MEASURED_COLUMNS = ("predict_ms_per_row", "predict_ms_single_row", "model_mb")
#: Metrics of a trial run that are not the trial's own metric values.
RUN_METRICS = ("score", "duration_s", "fit_time_s", "last_step", "intermediate_loss")
ROW_COLUMNS = ["trial_id", "estimator", "status", "score", "duration_s", "started_at", "error", "last_step",
               "last_value", "worker", "rows"]


@dataclass
class Trial:
    """One evaluated configuration."""

    trial_id: int
    estimator: str
    config: dict[str, Any]
    seed: int
    status: str = RUNNING
    score: float | None = None
    loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    fit_time_s: float = 0.0
    error: str | None = None
    started_at: float = 0.0
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    worker: str = ""  # pid@host of the Ray worker that ran it; empty in-process
    retries: int = 0  # runs again after its worker died (Ray)
    replayed: bool = False  # told from an earlier run's records when the job was resumed
    device: str = ""  # where the model trained, where the family can tell
    rows: int | None = None  # training rows it fitted, where a strategy chose a subsample (automl.row_fidelity)
    #: where its result was told in the search: the trials finished before it, and the trials asked when it finished
    #: (trials that ran concurrently finish out of order; ``automl.resume`` replays the asks and tells in this order)
    finished_nth: int | None = None
    asked_before: int | None = None

    @property
    def last_step(self) -> int | None:
        return self.intermediate[-1][0] if self.intermediate else None

    @property
    def last_value(self) -> float | None:
        return self.intermediate[-1][1] if self.intermediate else None


def direction(maximize: bool) -> str:
    return "maximize" if maximize else "minimize"


def maximizes(params: Mapping[str, Any]) -> bool:
    """Whether a recorded job's metric is maximised (its parameter ``metric_direction``)."""
    return params.get("metric_direction") == "maximize"


def loss_of(score: float | None, maximize: bool) -> float | None:
    """The value a search minimises, from a score in the metric's own direction."""
    if score is None:
        return None
    return -score if maximize else score


# -- rows: the leaderboard and the report ---------------------------------------------------------------
def trial_row(trial: Trial) -> dict[str, Any]:
    row = {"trial_id": trial.trial_id, "estimator": trial.estimator, "status": trial.status, "score": trial.score,
           "duration_s": trial.duration_s, "started_at": trial.started_at, "error": trial.error,
           "last_step": trial.last_step, "last_value": trial.last_value, "worker": trial.worker, "rows": trial.rows}
    row.update({k: trial.metrics[k] for k in MEASURED_COLUMNS if k in trial.metrics})
    row.update({f"param.{k}": v for k, v in trial.config.items()})
    return row


def trials_frame(trials: Iterable[Trial]) -> pd.DataFrame:
    """One row per trial in trial-id order (the report's table)."""
    rows = [trial_row(t) for t in trials]
    if not rows:
        return pd.DataFrame(columns=ROW_COLUMNS)
    return pd.DataFrame(rows).sort_values("trial_id").reset_index(drop=True)


def leaderboard(trials: Iterable[Trial]) -> pd.DataFrame:
    """One row per trial, best first: ok trials by loss, then pruned, cut by the budget, failed."""
    ranked = sorted(trials, key=lambda t: (RANK.get(t.status, 9), t.loss if t.loss is not None else math.inf, t.trial_id))
    rows = [{k: v for k, v in trial_row(t).items() if k not in ("started_at", "worker")} for t in ranked]
    if not rows:
        return pd.DataFrame(columns=[c for c in ROW_COLUMNS if c not in ("started_at", "worker")])
    frame = pd.DataFrame(rows)
    params = sorted(c for c in frame.columns if c.startswith("param."))  # one order, whichever family leads
    return frame[[*(c for c in frame.columns if not c.startswith("param.")), *params]]


# -- MLflow: one nested run per trial ---------------------------------------------------------------------
def to_run(trial: Trial, strategy: str, parent_run_id: str | None) -> "TrialRun":
    """The nested run of one finished trial: searchable tags, its config as params, its scores and curve as metrics."""
    from automl.tracking.trial_runs import TrialRun
    started = int(trial.started_at * 1000)
    tags = {
        "mlflow.parentRunId": str(parent_run_id),
        "automl.role": "trial",
        "automl.trial_id": str(trial.trial_id),
        "automl.estimator": trial.estimator,
        "automl.strategy": strategy,
        "automl.status": trial.status,
    }
    if trial.error:
        tags["automl.error"] = trial.error[:5000]
    if trial.worker:
        tags["automl.worker"] = trial.worker
    if trial.retries:
        tags["automl.retries"] = str(trial.retries)
    if trial.device:
        tags["automl.device"] = trial.device  # where it trained: a GPU trial on the CPU shows here
    if trial.replayed:
        tags["automl.replayed"] = "true"  # recorded by the job this one resumed; not fitted again
    if trial.rows is not None:
        tags["automl.rows"] = str(trial.rows)  # fitted on a subsample of the training rows
    if trial.finished_nth is not None and trial.asked_before is not None:
        tags["automl.finished_nth"], tags["automl.asked_before"] = str(trial.finished_nth), str(trial.asked_before)
    values = {"duration_s": trial.duration_s, "fit_time_s": trial.fit_time_s, **trial.metrics}
    if trial.score is not None:
        values["score"] = trial.score
    if trial.last_step is not None:
        values["last_step"] = trial.last_step
    metrics = [(k, float(v), started, 0) for k, v in values.items()]
    metrics += [("intermediate_loss", float(v), started, int(step)) for step, v in trial.intermediate]
    params = {k: text(v) for k, v in trial.config.items()} | {"estimator": trial.estimator}
    return TrialRun(
        name=f"trial-{trial.trial_id:04d}-{trial.estimator}", tags=tags, params=params, metrics=metrics,
        status=RUN_STATUS.get(trial.status, "FAILED"), start_ms=started, end_ms=started + int(trial.duration_s * 1000),
    )


def from_run(run: Any, intermediate: list[tuple[int, float]] | None, maximize: bool,
             typed: Callable[[str, str, str], Any] | None = None) -> Trial:
    """A trial back from its MLflow run; ``typed(family, param, text)`` turns parameter text into values."""
    tags, metrics = run.data.tags, run.data.metrics
    family = tags.get("automl.estimator", "")
    parse = typed or (lambda _family, _name, value: parse_number(value))
    config = {k: parse(family, k, v) for k, v in run.data.params.items() if k != "estimator"}
    status = tags.get("automl.status", FAILED)
    score = metrics.get("score")
    return Trial(
        int(tags["automl.trial_id"]), family, config, 0, status=status, score=score,
        loss=loss_of(score, maximize) if status in (OK, INFEASIBLE) else None,
        metrics={k: v for k, v in metrics.items() if k not in RUN_METRICS},
        duration_s=metrics.get("duration_s", 0.0), fit_time_s=metrics.get("fit_time_s", 0.0), error=tags.get("automl.error"),
        started_at=run.info.start_time / 1000.0, intermediate=intermediate or [],
        worker=tags.get("automl.worker", ""), retries=int(tags.get("automl.retries", 0)),
        replayed=tags.get("automl.replayed") == "true", device=tags.get("automl.device", ""),
        rows=int(tags["automl.rows"]) if "automl.rows" in tags else None,
        finished_nth=int(tags["automl.finished_nth"]) if "automl.finished_nth" in tags else None,
        asked_before=int(tags["automl.asked_before"]) if "automl.asked_before" in tags else None,
    )


def parse_number(text_value: str) -> Any:
    """MLflow keeps parameters as text; numbers come back as numbers."""
    for kind in (int, float):
        try:
            return kind(text_value)
        except ValueError:
            continue
    return text_value


def text(value: Any) -> str:
    return str(value)[:6000]
