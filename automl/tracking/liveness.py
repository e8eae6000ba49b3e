"""Whether a RUNNING job is alive, by its heartbeat; ending the dead ones as KILLED, with the reason.

One rule for everything that reads jobs (``automl jobs``, ``automl resume``, the
writer of every new job): a job's run that is RUNNING and whose last beat is more
than :data:`~automl.tracking.heartbeat.STALE_AFTER_BEATS` of its own intervals
old is dead. Its run is then ended KILLED, at the time of its last beat, with
tag ``automl.end_reason`` saying so and metric ``n_trials`` counting the trials
it recorded. A run without a heartbeat (a job of an older automl) is never judged.
The times compared are the writer's clock and the reader's: machines sharing a
store must agree on the time within a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from automl.tracking.heartbeat import HEARTBEAT_INTERVAL_S, HEARTBEAT_TAG, INTERVAL_TAG, STALE_AFTER_BEATS, parse_beat

END_REASON_TAG = "automl.end_reason"
#: The start of the end reason of a job ended for want of a heartbeat.
NO_HEARTBEAT = "no heartbeat since"
#: Runs that are still RUNNING, among the jobs of an experiment.
RUNNING_JOBS = "attributes.status = 'RUNNING' and tags.`automl.role` = 'job'"


@dataclass(frozen=True)
class Pulse:
    """A job run's last beat and how old it may be while the job counts as alive."""

    last_beat: datetime | None
    stale_after_s: float

    def age_s(self, now: datetime) -> float | None:
        return None if self.last_beat is None else (now - self.last_beat).total_seconds()

    def stale(self, now: datetime) -> bool:
        age = self.age_s(now)
        return age is not None and age > self.stale_after_s


def pulse_of(run: Any) -> Pulse:
    """The pulse recorded on job run ``run`` (an ``mlflow.entities.Run``)."""
    tags = run.data.tags
    try:
        seconds = float(tags.get(INTERVAL_TAG, HEARTBEAT_INTERVAL_S))
    except ValueError:
        seconds = HEARTBEAT_INTERVAL_S
    return Pulse(parse_beat(tags.get(HEARTBEAT_TAG)), STALE_AFTER_BEATS * seconds)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def is_dead(run: Any, now: datetime | None = None) -> bool:
    """Whether ``run`` is RUNNING with a stale heartbeat: its job's process died without ending it."""
    return run.info.status == "RUNNING" and pulse_of(run).stale(now or utc_now())


def death_reason(pulse: Pulse) -> str:
    """The end reason of a dead job's run."""
    since = "its start" if pulse.last_beat is None else pulse.last_beat.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{NO_HEARTBEAT} {since}; the process that ran the job died"


def marked_dead(tags: dict[str, str]) -> bool:
    """Whether a run's tags say it was ended for want of a heartbeat."""
    return tags.get(END_REASON_TAG, "").startswith(NO_HEARTBEAT)


def mark_dead(client: Any, run: Any, from_journal: int = 0) -> str:
    """End dead job run ``run`` as KILLED at its last beat, with the reason and its trial count; return the reason.
    ``from_journal``: the trial runs its left journal gave the store just before (``automl.tracking.recovery``)."""
    from mlflow.entities import Metric, RunTag

    pulse = pulse_of(run)
    reason = death_reason(pulse)
    if from_journal:
        reason += f"; {from_journal} trial run(s) it had not written were written from its journal"
    ended = int((pulse.last_beat or utc_now()).timestamp() * 1000)
    query = f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    trials = len(client.search_runs([run.info.experiment_id], query, max_results=50_000))
    client.log_batch(run.info.run_id, metrics=[Metric("n_trials", float(trials), ended, 0)],
                     tags=[RunTag(END_REASON_TAG, reason)])
    client.set_terminated(run.info.run_id, "KILLED", end_time=ended)
    return reason


def mark_dead_jobs(client: Any, experiment_ids: Iterable[str], exclude: str | None = None,
                   end: Callable[[Any, Any], str] = mark_dead) -> list[tuple[Any, str]]:
    """End every dead job run of the experiments (one search for their RUNNING jobs) with ``end(client, run)``;
    return them with the reasons."""
    ids = list(experiment_ids)
    if not ids:
        return []
    now = utc_now()
    running = client.search_runs(ids, RUNNING_JOBS, max_results=50_000)
    return [(run, end(client, run)) for run in running if run.info.run_id != exclude and is_dead(run, now)]
