"""``automl ui``: the MLflow UI on a job's store, on loopback, with the job's URL printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from rich.console import Console

from automl.errors import InputError


def latest_job_url(tracking_uri: str, experiment: str, run_id: str | None, base_url: str) -> str:
    """The UI address of ``run_id``, or of the experiment's latest job when none is given."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    if run_id is not None:
        try:
            run = client.get_run(run_id)
        except Exception as exc:  # noqa: BLE001 - MLflow's reason in one sentence
            raise InputError(f"run id {run_id!r} is not in {tracking_uri} ({type(exc).__name__}); pass a job's run id.") from exc
        return f"{base_url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise InputError(f"experiment {experiment!r} is not in {tracking_uri}; run `automl tune` first or pass --experiment.")
    runs = client.search_runs([found.experiment_id], filter_string="tags.`automl.role` = 'job'", order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        return f"{base_url}/#/experiments/{found.experiment_id}"
    return f"{base_url}/#/experiments/{found.experiment_id}/runs/{runs[0].info.run_id}"


def run_ui(tracking_uri: str | None, experiment: str, run_id: str | None, host: str, port: int, console: Console) -> None:
    import mlflow

    uri = tracking_uri or mlflow.get_tracking_uri()
    url = latest_job_url(uri, experiment, run_id, f"http://{host}:{port}")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
    server = subprocess.Popen(command, start_new_session=True)  # its own group: stopping it stops its workers
    signal.signal(signal.SIGTERM, _interrupt)
    console.print(f"MLflow UI: {url}", soft_wrap=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
