"""``automl resume RUN_ID``: find the job file of a tracked job, to run it again with ``resume_from``."""

from __future__ import annotations

from pathlib import Path

from automl.cli.tune_command import JOB_FILE_TAG
from automl.errors import InputError


def job_file_of(run_id: str, tracking_uri: str | None) -> Path:
    """The job file recorded on job ``run_id``'s MLflow run."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise InputError(f"run {run_id!r} is not in the MLflow store {client.tracking_uri!r}; pass the job's run id "
                         "(printed by `automl tune`) and --tracking-uri of the store it was tracked in.") from exc
    recorded = run.data.tags.get(JOB_FILE_TAG)
    if recorded is None:
        raise InputError(f"run {run_id!r} was not started from a job file (no tag {JOB_FILE_TAG}); resume it with "
                         f"`automl tune JOB.yaml --resume-from {run_id}` or AutoML(..., resume_from={run_id!r}).")
    path = Path(recorded)
    if not path.is_file():
        raise InputError(f"run {run_id!r} was started from job file {recorded!r}, which no longer exists; restore it or "
                         f"run `automl tune JOB.yaml --resume-from {run_id}`.")
    return path
