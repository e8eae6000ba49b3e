"""Resuming a job from its MLflow records: the finished trials are replayed, the search goes on from there.

A strategy with the same seed that is told the same results in the same order
asks for the same trials (the contract every strategy keeps), so resuming
needs no search state beyond what MLflow already holds: the strategy is asked
again, with each recorded result told where the recorded job told it (trials
that ran concurrently finished out of order; each record keeps its place),
each answer is matched against the recorded trial of that turn, and the
recorded result is told instead of fitting it again. Early-stopping rungs get
the recorded intermediate values. Trials that were running when the job ended
are asked again and run first; where the search asks for something else (the
code or the space changed), replaying stops and the search goes on with new
trials from there.
"""

from __future__ import annotations

import logging
import math
from collections import deque
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
) -> tuple[int, list[Suggestion]]:
    """Tell ``strategy`` the recorded trials, asking and telling in the order the recorded job did.

    Trial ids are the order of the asks; each record's ``asked_before`` (the trials asked when it finished) puts
    its tell among them, so trials that ran concurrently are told where they finished the first time and the
    strategy asks for the same trials again. Returns how many were replayed, and the suggestions asked but not
    replayed, which the backend runs first: those of trials running when the job ended (never recorded), and
    the first one that differs from its record (the code changed), where replaying stops.
    """
    by_id = {record.trial_id: record for record in recorded}
    n_asks = max(by_id, default=-1) + 1  # up to the last recorded trial, past any that were lost
    if max_trials is not None:
        n_asks = min(n_asks, max_trials)
    tells = deque(sorted((r for r in recorded if r.trial_id < n_asks), key=_finished_nth))
    asked: dict[int, tuple[Suggestion, Trial]] = {}
    pending: list[Suggestion] = []

    def tell(record: Trial) -> None:
        suggestion, trial = asked.pop(record.trial_id)
        _feed_scheduler(objective, trial.trial_id, record)
        study.finish(trial, _result(record))
        trial.replayed = True
        strategy.tell(suggestion, trial)
        on_trial_end(study, trial)

    for trial_id in range(n_asks):
        while tells and _asked_before(tells[0]) <= trial_id:
            tell(tells.popleft())
        suggestion = strategy.ask()
        if suggestion is None:
            break
        record = by_id.get(trial_id)
        if record is None:  # it was running when the job ended
            pending.append(suggestion)
            continue
        if (suggestion.estimator != record.estimator or suggestion.rows != record.rows
                or not _same_config(suggestion.config, record.config)):
            logger.warning("Resume replayed %d of %d recorded trials; the search asks for another trial than "
                           "trial %d (the code or the space changed), so it goes on from there.",
                           study.count(), len(recorded), trial_id)
            pending.append(suggestion)
            break
        asked[trial_id] = (suggestion, study.start(suggestion))
    for record in tells:
        if record.trial_id in asked:
            tell(record)
    return sum(trial.replayed for trial in study.trials), pending


def _finished_nth(record: Trial) -> int:
    """Where ``record`` finished among the recorded job's trials; records from before this was kept: its id."""
    return record.trial_id if record.finished_nth is None else record.finished_nth


def _asked_before(record: Trial) -> int:
    """How many trials the recorded job had asked when ``record`` finished; from before this was kept: one at a time."""
    return record.trial_id + 1 if record.asked_before is None else record.asked_before


class AskedFirst(Strategy):
    """``strategy`` whose next answers are ``pending``, suggestions it gave already (a resume's first new trials)."""

    def __init__(self, strategy: Strategy, pending: list[Suggestion]) -> None:
        self.inner, self.pending = strategy, deque(pending)
        self.name, self.space, self.seed, self.families = strategy.name, strategy.space, strategy.seed, strategy.families
        self.cost_model = strategy.cost_model

    def ask(self) -> Suggestion | None:
        if self.pending:
            return self.pending.popleft()
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
