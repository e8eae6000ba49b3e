"""``automl jobs``: a store's jobs, newest first; RUNNING jobs whose heartbeat stopped are ended as KILLED, after
what their left journals hold (``automl.tracking.recovery``) is written."""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from automl.errors import InputError
from automl.records import maximizes
from automl.tracking.liveness import is_dead, mark_dead_jobs, marked_dead, pulse_of, utc_now
from automl.tracking.recovery import end_dead_job, left_journals

#: The runs of jobs (their trials' runs are nested under them).
JOBS = "tags.`automl.role` = 'job'"
HEADERS = ("RUN ID", "EXPERIMENT", "NAME", "STATUS", "STARTED", "TRIALS", "BEST", "HEARTBEAT")


@dataclass
class JobRow:
    """One job as ``automl jobs`` prints it."""

    run_id: str
    experiment: str
    name: str
    status: str
    started: str
    trials: str
    best: str
    heartbeat: str


def run_jobs(tracking_uri: str | None, experiment: str | None, limit: int, console: Console) -> list[JobRow]:
    """Print the latest ``limit`` jobs of the store (of ``experiment`` only, when given); return their rows."""
    import mlflow

    uri = tracking_uri or mlflow.get_tracking_uri()
    client = mlflow.MlflowClient(_existing(uri))
    experiments = _experiments(client, experiment, uri)
    try:
        ended = mark_dead_jobs(client, experiments, end=end_dead_job)
    except Exception as exc:  # noqa: BLE001 - listing still works; the dead jobs are shown dead
        ended = []
        console.print(f"The dead jobs could not be ended as KILLED ({type(exc).__name__}: {exc}).", soft_wrap=True, markup=False)
    runs = _latest(client, experiments, limit)
    left = left_journals([run for run in runs if marked_dead(run.data.tags)])  # ended dead by another job earlier
    if left:
        ended += [(run, end_dead_job(client, run, left[run.info.run_id])) for run in runs if run.info.run_id in left]
        runs = _latest(client, experiments, limit)
    now = utc_now()
    rows = [_row(client, run, experiments[run.info.experiment_id], now) for run in runs]
    if not rows:
        console.print(f"No jobs in {uri}" + (f" (experiment {experiment!r})." if experiment else "."), soft_wrap=True, markup=False)
    else:
        for line in _table(rows):
            console.print(line, soft_wrap=True, markup=False)
    for run, reason in ended:
        console.print(f"Marked {run.info.run_id} KILLED: {reason}. Resume it: automl resume {run.info.run_id} "
                      f"--tracking-uri {uri}", soft_wrap=True, markup=False)
    return rows


def _latest(client: Any, experiments: dict[str, str], limit: int) -> list[Any]:
    """The latest ``limit`` job runs of the experiments, newest first."""
    if not experiments:
        return []
    return client.search_runs(list(experiments), JOBS, order_by=["attributes.start_time DESC"], max_results=limit)


def _existing(uri: str) -> str:
    """``uri``, unless it names a SQLite file that does not exist (opening it would create an empty store)."""
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file():
        raise InputError(f"there is no MLflow store at {uri}; pass the store the jobs were tracked in (--tracking-uri).")
    return uri


def _experiments(client: Any, name: str | None, uri: str) -> dict[str, str]:
    """Experiment names by id: the one named, or every active experiment of the store."""
    if name is None:
        return {e.experiment_id: e.name for e in client.search_experiments()}
    found = client.get_experiment_by_name(name)
    if found is None:
        raise InputError(f"experiment {name!r} is not in {uri}; leave out --experiment to list every experiment's jobs.")
    return {found.experiment_id: found.name}


def _row(client: Any, run: Any, experiment: str, now: datetime) -> JobRow:
    metrics, tags, info = run.data.metrics, run.data.tags, run.info
    trials, best = metrics.get("n_trials"), metrics.get("best_score")
    if trials is None or best is None:  # a job that is running, or ended before its summary: read its trials
        trials, best = _trials_and_best(client, run)
    metric = run.data.params.get("metric", "")
    dead = is_dead(run, now)
    age = pulse_of(run).age_s(now)
    shows_beat = info.status == "RUNNING" or dead or marked_dead(tags)
    return JobRow(
        run_id=info.run_id, experiment=experiment, name=info.run_name or "", status="KILLED" if dead else info.status,
        started=datetime.fromtimestamp(info.start_time / 1000).strftime("%Y-%m-%d %H:%M:%S"),
        trials=str(int(trials)), best="-" if best is None or math.isnan(best) else f"{metric} {best:.5f}".strip(),
        heartbeat=_ago(age) if shows_beat and age is not None else "-",
    )


def _trials_and_best(client: Any, run: Any) -> tuple[int, float | None]:
    """How many trial runs the job has, and the best score among its ok trials."""
    query = f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    trials = client.search_runs([run.info.experiment_id], query, max_results=50_000)
    scores = [t.data.metrics["score"] for t in trials
              if t.data.tags.get("automl.status") == "ok" and "score" in t.data.metrics]
    if not scores:
        return len(trials), None
    return len(trials), max(scores) if maximizes(run.data.params) else min(scores)


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if seconds >= size:
            return f"{seconds // size}{unit}{(seconds % size) // sub_size:02d}{sub} ago"
    return f"{seconds}s ago"


def _table(rows: list[JobRow]) -> list[str]:
    """Aligned columns, one line per job (no wrapping, whatever the terminal's width: easy to read and to grep)."""
    cells = [HEADERS, *(astuple(row) for row in rows)]
    widths = [max(len(str(line[i])) for line in cells) for i in range(len(fields(JobRow)))]
    return ["  ".join(str(value).ljust(width) for value, width in zip(line, widths)).rstrip() for line in cells]
