"""``automl resume RUN_ID``: find the job file of a tracked job, to run it again with ``resume_from``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl.cli.tune_command import JOB_FILE_TAG
from automl.errors import InputError
from automl.tracking.liveness import END_REASON_TAG, is_dead, pulse_of, utc_now
from automl.tracking.mlflow_reader import job_run
from automl.tracking.recovery import end_dead_job


def prepare_resume(run_id: str, tracking_uri: str | None) -> tuple[Path, str | None]:
    """The job file of job ``run_id`` and what to say about its previous attempt (how it ended), or None.

    A RUNNING job whose heartbeat stopped is ended as KILLED first; one whose heartbeat is fresh is still
    running somewhere, and resuming it would run the job twice, so that is refused.
    """
    client, run = job_run(run_id, tracking_uri)
    path = _job_file(run)
    return path, _previous_attempt(client, run)


def _previous_attempt(client: Any, run: Any) -> str | None:
    status, run_id = run.info.status, run.info.run_id
    if status == "RUNNING":
        pulse = pulse_of(run)
        if is_dead(run):
            return f"The previous attempt (run {run_id}) died: {end_dead_job(client, run)}. Marked it KILLED."
        age = pulse.age_s(utc_now())
        if age is not None:
            wait = max(1, round(pulse.stale_after_s - age))
            raise InputError(f"run {run_id!r} is still running: its last heartbeat was {age:.0f}s ago. Stop that job "
                             f"first; if its process is gone, it counts as dead {pulse.stale_after_s:g}s after its "
                             f"last heartbeat: resume it in {wait}s.")
        return None  # a job of an older automl, without a heartbeat: it cannot be told apart from a live one
    if status == "FINISHED":
        return None
    reason = run.data.tags.get(END_REASON_TAG, "no reason recorded")
    verb = "died" if status == "KILLED" else "failed"
    return f"The previous attempt (run {run_id}) {verb}: {reason}."


def _job_file(run: Any) -> Path:
    run_id = run.info.run_id
    recorded = run.data.tags.get(JOB_FILE_TAG)
    if recorded is None:
        raise InputError(f"run {run_id!r} was not started from a job file (no tag {JOB_FILE_TAG}); resume it with "
                         f"`automl tune JOB.yaml --resume-from {run_id}` or AutoML(..., resume_from={run_id!r}).")
    path = Path(recorded)
    if not path.is_file():
        raise InputError(f"run {run_id!r} was started from job file {recorded!r}, which no longer exists; restore it or "
                         f"run `automl tune JOB.yaml --resume-from {run_id}`.")
    return path
