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
from automl.row_fidelity import ledger
from automl.space import JointSpace, Param
from automl.strategies import Strategy
from automl.study import Study, Suggestion, Trial, TrialResult
from automl.tracking.mlflow_reader import job_run, read_trials
from automl.tracking.recovery import end_dead_job, left_journals

logger = logging.getLogger(__name__)

#: Job parameters that must equal the earlier job's for its trials to mean the same thing; the fingerprints
#: cover the data and the validation rows (so a changed holdout_fraction or n_splits is caught). A changed
#: space is allowed: the replay stops where the search asks for a trial that was not recorded.
SAME_JOB_PARAMS = ("task", "metric", "seed", "strategy", "early_stop", "eval_method", "n_splits", "estimators",
                   "n_rows", "n_features", "data_fingerprint", "splits_fingerprint")


@dataclass
class RecordedJob:
    """An earlier job's parent-run parameters and its finished trials (ordered by trial id)."""

    run_id: str
    params: dict[str, str]
    trials: list[Trial]


def load_recorded_job(run_id: str, tracking_uri: str | None, space: JointSpace) -> RecordedJob:
    """Read job ``run_id`` and its trial runs from MLflow, with configurations typed by ``space``."""
    client, parent = job_run(run_id, tracking_uri, name="resume_from=")

    def typed(family: str, name: str, text: str) -> Any:
        params = {p.name: p for p in space.params(family)} if family in space.spaces else {}
        return _typed(params[name], text) if name in params else text

    return RecordedJob(run_id, dict(parent.data.params), read_trials(client, parent, typed))


def trials_to_resume(run_id: str, tracking_uri: str | None, space: JointSpace, params: dict[str, Any]) -> list[Trial]:
    """The finished trials of job ``run_id``, after checking that this job (``params``) is the same one; what a
    left journal of that job holds is written first (``automl.tracking.recovery``)."""
    client, run = job_run(run_id, tracking_uri, name="resume_from=")
    journals = left_journals([run]).get(run_id)
    if journals:  # its writer died with it: its lock is free, so the job is dead whatever its heartbeat says
        end_dead_job(client, run, journals)
    recorded = load_recorded_job(run_id, tracking_uri, space)
    check_same_job(recorded, params)
    return recorded.trials


def check_same_job(recorded: RecordedJob, params: dict[str, Any]) -> None:
    """Raise unless this job is the recorded one (same data, task, splits, search) with any budget."""
    for name in SAME_JOB_PARAMS:
        if name in recorded.params and name in params and recorded.params[name] != str(params[name]):
            raise InputError(
                f"resume_from={recorded.run_id!r} was a job with {name}={recorded.params[name]!r}, this one has "
                f"{name}={params[name]!r}; resume with the same data and settings (only the budget may change)."
            )


def replay(
    recorded: list[Trial], study: Study, strategy: Strategy, objective: Objective, max_trials: int | None,
    on_trial_end: Callable[[Study, Trial], None],
) -> tuple[int, Suggestion | None]:
    """Tell ``strategy`` the recorded trials it asks for again.

    Returns how many were replayed, and the first suggestion that was not recorded (asked already, so the
    backend must run it before asking for more), or None.
    """
    replayed = 0
    for index, record in enumerate(recorded[:max_trials]):
        suggestion = strategy.ask()
        if suggestion is None:
            break
        if (suggestion.estimator != record.estimator or suggestion.rows != record.rows
                or not _same_config(suggestion.config, record.config)):
            logger.warning("Resume replayed %d of %d recorded trials; the search asks for a different trial next "
                           "(concurrent trials finish in another order each run), so it goes on from there.",
                           index, len(recorded))
            return index, suggestion
        trial = study.start(suggestion)
        _feed_scheduler(objective, trial.trial_id, record)
        study.finish(trial, _result(record))
        trial.replayed = True
        strategy.tell(suggestion, trial)
        on_trial_end(study, trial)
        replayed += 1
    return replayed, None


class AskedFirst(Strategy):
    """``strategy`` whose next answer is ``pending``, a suggestion it gave already (the first new trial of a resume)."""

    def __init__(self, strategy: Strategy, pending: Suggestion) -> None:
        self.inner, self.pending = strategy, pending
        self.name, self.space, self.seed, self.families = strategy.name, strategy.space, strategy.seed, strategy.families
        self.cost_model = strategy.cost_model

    def ask(self) -> Suggestion | None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            return pending
        return self.inner.ask()

    def tell(self, suggestion: Suggestion, trial: Trial) -> None:
        self.inner.tell(suggestion, trial)


def _feed_scheduler(objective: Objective, trial_id: int, record: Trial) -> None:
    """The recorded intermediate values meet the early-stopping rungs as they did the first time."""
    objective.scheduler.start(trial_id, ledger(record.estimator, record.rows))
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


def _typed(param: Param, text: str) -> Any:
    """A parameter value back from MLflow's text: the choice whose text it is, or the number."""
    if param.type == "categorical":
        return next((c for c in param.choices or () if str(c) == text), text)
    return int(float(text)) if param.type == "int" else float(text)
