"""Resuming a job from its MLflow records: the finished trials are replayed, the search goes on from there.

A strategy with the same seed that is told the same results asks for the same
trials (the contract every strategy keeps), so resuming needs no search state
beyond what MLflow already holds: the strategy is asked again, each answer is
matched against the next recorded trial, and the recorded result is told
instead of fitting it again. Early-stopping rungs get the recorded
intermediate values. Where the search asks for something else (trials that
ran concurrently finish in a different order each run, or the code changed),
replaying stops and the search goes on with new trials from there.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Callable

from automl.errors import InputError
from automl.objective import Objective
from automl.space import JointSpace, Param
from automl.strategies import Strategy
from automl.study import FAILED, OK, Study, Trial, TrialResult
from automl.tracking.mlflow_reader import intermediate_of, job_run, trial_runs_of

logger = logging.getLogger(__name__)
#: Metrics of a trial run that are not the trial's own metric values.
RUN_METRICS = ("score", "duration_s", "fit_time_s", "last_step", "intermediate_loss")

#: Job parameters that must equal the earlier job's for its trials to mean the same thing.
SAME_JOB_PARAMS = ("task", "metric", "seed", "strategy", "early_stop", "eval_method", "n_splits", "estimators",
                   "n_rows", "n_features", "data_fingerprint")


@dataclass
class RecordedJob:
    """An earlier job's parent-run parameters and its finished trials (ordered by trial id)."""

    run_id: str
    params: dict[str, str]
    trials: list[Trial]


def load_recorded_job(run_id: str, tracking_uri: str | None, space: JointSpace, metric: Any) -> RecordedJob:
    """Read job ``run_id`` and its trial runs from MLflow, with configurations typed by ``space``."""
    client, parent = job_run(run_id, tracking_uri, name="resume_from=")
    trials = [_trial(client, run, space, metric) for run in trial_runs_of(client, parent)]
    return RecordedJob(run_id, dict(parent.data.params), sorted(trials, key=lambda t: t.trial_id))


def trials_to_resume(run_id: str, tracking_uri: str | None, space: JointSpace, metric: Any, params: dict[str, Any]) -> list[Trial]:
    """The finished trials of job ``run_id``, after checking that this job (``params``) is the same one."""
    recorded = load_recorded_job(run_id, tracking_uri, space, metric)
    check_same_job(recorded, params)
    return recorded.trials


def check_same_job(recorded: RecordedJob, params: dict[str, Any]) -> None:
    """Raise unless this job is the recorded one (same data, task, search) with any budget."""
    for name in SAME_JOB_PARAMS:
        if name in recorded.params and name in params and recorded.params[name] != str(params[name]):
            raise InputError(
                f"resume_from={recorded.run_id!r} was a job with {name}={recorded.params[name]!r}, this one has "
                f"{name}={params[name]!r}; resume with the same data and settings (only the budget may change)."
            )


def replay(
    recorded: list[Trial], study: Study, strategy: Strategy, objective: Objective, max_trials: int | None,
    on_trial_end: Callable[[Study, Trial], None], deadline: Callable[[], float | None] = lambda: None,
) -> int:
    """Tell ``strategy`` the recorded trials it asks for again; return how many were replayed.

    The first trial asked that was not recorded is evaluated here (it was asked already), by ``deadline()``.
    """
    replayed = 0
    for index, record in enumerate(recorded[:max_trials]):
        suggestion = strategy.ask()
        if suggestion is None:
            break
        if suggestion.estimator != record.estimator or not _same_config(suggestion.config, record.config):
            logger.warning("Resume replayed %d of %d recorded trials; the search asks for a different trial next "
                           "(concurrent trials finish in another order each run), so it goes on from there.",
                           index, len(recorded))
            trial = study.start(suggestion)  # asked already: evaluate it as the first new trial
            study.finish(trial, objective(trial, deadline()))
            strategy.tell(suggestion, trial)
            on_trial_end(study, trial)
            return index
        trial = study.start(suggestion)
        _feed_scheduler(objective, trial.trial_id, record)
        study.finish(trial, _result(record))
        trial.replayed = True
        strategy.tell(suggestion, trial)
        on_trial_end(study, trial)
        replayed += 1
    return replayed


def _feed_scheduler(objective: Objective, trial_id: int, record: Trial) -> None:
    """The recorded intermediate values meet the early-stopping rungs as they did the first time."""
    objective.scheduler.start(trial_id)
    for step, value in record.intermediate:
        objective.scheduler.report(trial_id, step, value)
    objective.scheduler.finish(trial_id, record.status, record.loss)


def _result(record: Trial) -> TrialResult:
    return TrialResult(
        record.status, record.score, record.loss, dict(record.metrics), record.fit_time_s, record.error,
        intermediate=list(record.intermediate), duration_s=record.duration_s, started_at=record.started_at,
        device=record.device,
    )


def _same_config(asked: dict[str, Any], recorded: dict[str, Any]) -> bool:
    if asked.keys() != recorded.keys():
        return False
    for key, value in asked.items():
        other = recorded[key]
        if isinstance(value, float) and isinstance(other, (int, float)):
            if not math.isclose(value, other, rel_tol=1e-12, abs_tol=1e-15):
                return False
        elif value != other:
            return False
    return True


def _trial(client: Any, run: Any, space: JointSpace, metric: Any) -> Trial:
    tags, metrics = run.data.tags, run.data.metrics
    family = tags["automl.estimator"]
    params = {p.name: p for p in space.params(family)} if family in space.spaces else {}
    config = {k: _typed(params[k], v) if k in params else v for k, v in run.data.params.items() if k != "estimator"}
    status = tags.get("automl.status", FAILED)
    score = metrics.get("score")
    return Trial(
        int(tags["automl.trial_id"]), family, config, 0, status=status, score=score,
        loss=metric.loss(score) if status == OK and score is not None else None,
        metrics={k: v for k, v in metrics.items() if k not in RUN_METRICS},
        duration_s=metrics.get("duration_s", 0.0), fit_time_s=metrics.get("fit_time_s", 0.0), error=tags.get("automl.error"),
        started_at=run.info.start_time / 1000.0, intermediate=intermediate_of(client, run) or [],
        worker=tags.get("automl.worker", ""), device=tags.get("automl.device", ""),
    )


def _typed(param: Param, text: str) -> Any:
    """A parameter value back from MLflow's text: the choice whose text it is, or the number."""
    if param.type == "categorical":
        return next((c for c in param.choices or () if str(c) == text), text)
    return int(float(text)) if param.type == "int" else float(text)
