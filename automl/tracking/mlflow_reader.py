"""Read a job back from MLflow (parent run, trial runs, artifacts) for ``automl report`` and ``automl resume``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable

from automl.errors import InputError
from automl.records import Trial, from_run, maximizes, trials_frame

TIME_METRICS = ("search_s", "refit_s", "elapsed_s", "total_s")


def job_run(run_id: str, tracking_uri: str | None, name: str = "run ") -> tuple[Any, Any]:
    """An ``MlflowClient`` on the store and job ``run_id``'s parent run; ``name`` leads the errors (a parameter=)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise InputError(f"{name}{run_id!r} is not in the MLflow store {client.tracking_uri!r}; pass a job's run id "
                         "(printed by `automl tune`) and the store it was tracked in (--tracking-uri).") from exc
    if run.data.tags.get("automl.role") != "job":
        raise InputError(f"{name}{run_id!r} is not an automl job's run (its tag automl.role is "
                         f"{run.data.tags.get('automl.role')!r}); pass the job's parent run id.")
    return client, run


def trial_runs_of(client: Any, parent: Any) -> list[Any]:
    """The trial runs nested under job run ``parent``."""
    query = f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    return client.search_runs([parent.info.experiment_id], query, max_results=50_000)


def intermediate_of(client: Any, run: Any) -> list[tuple[int, float]] | None:
    """A trial run's intermediate losses by step, or None where the trial reported none."""
    if "last_step" not in run.data.metrics:
        return None
    history = client.get_metric_history(run.info.run_id, "intermediate_loss")
    return sorted((int(m.step), float(m.value)) for m in history)


def read_trials(client: Any, parent: Any, typed: Callable[[str, str, str], Any] | None = None) -> list[Trial]:
    """The trials of job run ``parent`` in trial-id order, through the one trial codec (``automl.records``)."""
    maximize = maximizes(parent.data.params)
    trials = [from_run(run, intermediate_of(client, run), maximize, typed) for run in trial_runs_of(client, parent)]
    return sorted(trials, key=lambda t: t.trial_id)


def read_job(run_id: str, tracking_uri: str | None) -> Any:
    """The ``automl_dashboards.JobRecord`` of the job whose parent run is ``run_id``."""
    from automl_dashboards import JobRecord

    client, parent = job_run(run_id, tracking_uri)
    trials = read_trials(client, parent)
    job = {**parent.data.params, "strategy_reason": parent.data.tags.get("automl.strategy_reason", "")}
    return JobRecord(
        job=job, trials=trials_frame(trials), intermediate={t.trial_id: t.intermediate for t in trials if t.intermediate},
        time_split={k: v for k, v in parent.data.metrics.items() if k in TIME_METRICS},
        feature_importance=_artifact_json(client, run_id, "feature_importance.json"),
        maximize=maximizes(parent.data.params), run_id=run_id,
    )


def _artifact_json(client: Any, run_id: str, name: str) -> dict[str, Any]:
    if name not in {f.path for f in client.list_artifacts(run_id)}:
        return {}
    with tempfile.TemporaryDirectory() as folder:
        return json.loads(Path(client.download_artifacts(run_id, name, folder)).read_text())
