"""``automl resume RUN_ID``: find the job file of a tracked job, to run it again with ``resume_from``."""

from __future__ import annotations

from pathlib import Path

from automl.cli.tune_command import JOB_FILE_TAG
from automl.errors import InputError
from automl.tracking.mlflow_reader import job_run


def job_file_of(run_id: str, tracking_uri: str | None) -> Path:
    """The job file recorded on job ``run_id``'s MLflow run."""
    _, run = job_run(run_id, tracking_uri)
    recorded = run.data.tags.get(JOB_FILE_TAG)
    if recorded is None:
        raise InputError(f"run {run_id!r} was not started from a job file (no tag {JOB_FILE_TAG}); resume it with "
                         f"`automl tune JOB.yaml --resume-from {run_id}` or AutoML(..., resume_from={run_id!r}).")
    path = Path(recorded)
    if not path.is_file():
        raise InputError(f"run {run_id!r} was started from job file {recorded!r}, which no longer exists; restore it or "
                         f"run `automl tune JOB.yaml --resume-from {run_id}`.")
    return path
