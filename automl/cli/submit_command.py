"""``automl submit``: run a tuning job on a Ray cluster through Ray's job-submission API.

The job file's folder is uploaded as the job's working directory, so the data
it names travels with it; the job runs ``automl tune`` on the cluster with the
Ray backend, and its trials land in the MLflow store named in the job (made
absolute here, since the cluster's working directory is temporary).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from automl.backends.ray_cluster import local_ray_token
from automl.cli.jobspec import JobSpec
from automl.errors import AutoMLError, InputError

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
#: Seconds to wait for a just-started cluster's job agent.
AGENT_WAIT_S = 60.0


def run_submit(job_file: Path, spec: JobSpec, flags: dict[str, Any], address: str, wait: bool, console: Console) -> int:
    """Submit; with ``wait``, stream the job's output and return 0 once it succeeded."""
    folder = job_file.resolve().parent
    _check_inside(spec, folder)
    tracking_uri = absolute_tracking_uri(spec.tracking_uri)
    entrypoint = _entrypoint(job_file.name, {**flags, "tracking_uri": tracking_uri}, spec)
    client = _client(address)
    job_id = _submit(client, entrypoint, folder)
    console.print(f"Submitted Ray job {job_id} to {address}; MLflow store: {tracking_uri}", soft_wrap=True)
    if not wait:
        console.print(f"Follow it with: ray job logs --follow {job_id} --address {address}")
        return 0
    try:
        asyncio.run(_stream(client, job_id, console))
    except KeyboardInterrupt:
        console.print(f"Stopped following; the job goes on (stop it with: ray job stop {job_id} --address {address}).")
        return 130
    status = _final_status(client, job_id)
    if status != "SUCCEEDED":
        info = client.get_job_info(job_id)
        raise AutoMLError(f"Ray job {job_id} ended {status} ({(info.message or '').strip()[:300]}); its output is above.")
    console.print(f"Ray job {job_id} SUCCEEDED")
    return 0


def absolute_tracking_uri(uri: str | None) -> str:
    """The job's MLflow store as the cluster must see it: a server URL, or a SQLite file by absolute path."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{(Path.cwd() / uri[len('sqlite:///'):]).resolve()}"
    return uri


def _check_inside(spec: JobSpec, folder: Path) -> None:
    """Data files must travel with the job folder (or be absolute paths the cluster also sees)."""
    for name in ("data", "test_data"):
        path = getattr(spec, name)
        if path is None:
            continue
        if not path.is_file():
            raise InputError(f"{name} file {str(path)!r} does not exist; pass the path of a CSV or Parquet file.")
        if not path.resolve().is_relative_to(folder):
            raise InputError(
                f"{name} file {str(path)!r} is outside the job file's folder {str(folder)!r}, which is what is uploaded "
                "to the cluster; move the data into that folder."
            )


def _entrypoint(job_name: str, flags: dict[str, Any], spec: JobSpec) -> str:
    """``automl tune`` on the cluster, with the Ray backend unless the job chose another, joining the cluster."""
    args = ["python", "-m", "automl", "tune", job_name, "--ray-address", "auto"]
    if "backend" not in spec.model_fields_set and flags.get("backend") is None:
        args += ["--backend", "ray"]
    for name, value in flags.items():
        if value is None or name == "ray_address":
            continue
        option = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(option if value else f"--no-{name.replace('_', '-')}")
        else:
            args += [option, str(value)]
    return shlex.join(args)


def _client(address: str) -> Any:
    """A job client; a cluster with token authentication gets this machine's Ray token (RAY_AUTH_TOKEN, ~/.ray/auth_token)."""
    try:
        from ray.exceptions import AuthenticationError
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise AutoMLError("automl submit needs Ray's job client; install it with: pip install 'automl[ray]'.") from exc
    try:
        try:
            return JobSubmissionClient(address)
        except AuthenticationError:
            token = local_ray_token()
            if token is None:
                raise
            return JobSubmissionClient(address, headers={"Authorization": f"Bearer {token}"})
    except AuthenticationError as exc:
        raise InputError(
            f"--address {address!r}: the Ray job server wants an authentication token; put the cluster's token in "
            "RAY_AUTH_TOKEN or ~/.ray/auth_token (see `ray get-auth-token`)."
        ) from exc
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(
            f"--address {address!r}: no Ray job server answered ({str(exc).splitlines()[0][:200]}); start a cluster with "
            "`ray start --head` (its dashboard listens on port 8265) or fix the address."
        ) from exc


def _submit(client: Any, entrypoint: str, folder: Path, wait_s: float = AGENT_WAIT_S) -> str:
    """Submit, waiting out a cluster whose job agent is still starting (Ray answers "try again later")."""
    end = time.monotonic() + wait_s
    while True:
        try:
            return str(client.submit_job(entrypoint=entrypoint, runtime_env={"working_dir": str(folder)}))
        except RuntimeError as exc:
            if "No available agent" not in str(exc) or time.monotonic() > end:
                raise AutoMLError(f"The Ray job server refused the job ({str(exc).splitlines()[0][:300]}).") from exc
            time.sleep(1.0)


async def _stream(client: Any, job_id: str, console: Console) -> None:
    async for lines in client.tail_job_logs(job_id):
        console.out(lines, end="", highlight=False)


def _final_status(client: Any, job_id: str, timeout_s: float = 30.0) -> str:
    """The job's terminal status (the log stream can end a moment before the status is final)."""
    end = time.monotonic() + timeout_s
    status = str(client.get_job_status(job_id).value)
    while status not in TERMINAL and time.monotonic() < end:
        time.sleep(0.5)
        status = str(client.get_job_status(job_id).value)
    return status
