"""A finished trial as one MLflow run, and the two ways of writing it.

``TrialRun`` is what a nested trial run holds (name, tags, params, metric
history, status, times). ``write_with_client`` writes it through
``MlflowClient`` (create, log_batch, terminate: about a dozen SQL transactions
on a database store). ``SqlTrialRunWriter`` writes the same rows in one
transaction with MLflow's own ORM models, for SQL stores (the SQLite default):
MLflow's API has no call that creates a finished run with its data, and one
transaction instead of a dozen takes a nested run from about 9 ms to about
3 ms (benchmarks/results/tracking_scale.json). tests/test_trial_runs.py reads
runs written both ways back through ``MlflowClient`` and requires them equal,
so an MLflow release that changes its schema fails there, and any error on
the SQL path sends the recorder back to the client for good.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrialRun:
    """One nested trial run: everything MLflow stores for it."""

    name: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[tuple[str, float, int, int]]  # key, value, timestamp (ms), step
    status: str  # MLflow's run status: FINISHED, FAILED or KILLED
    start_ms: int
    end_ms: int
    user_id: str = field(default="unknown")  # what MlflowClient.create_run records without an mlflow.user tag

    def entities(self) -> tuple[list[Any], list[Any]]:
        """Its metric history and params as MLflow's ``Metric`` and ``Param`` entities."""
        from mlflow.entities import Metric, Param

        metrics = [Metric(key, value, timestamp, step) for key, value, timestamp, step in self.metrics]
        return metrics, [Param(key, value) for key, value in self.params.items()]


def write_with_client(client: Any, experiment_id: str, run: TrialRun) -> str:
    """Create, fill and terminate the run through ``MlflowClient``; return its id."""
    created = client.create_run(experiment_id, start_time=run.start_ms, tags=run.tags, run_name=run.name)
    fill_with_client(client, created.info.run_id, run)
    return str(created.info.run_id)


def fill_with_client(client: Any, run_id: str, run: TrialRun) -> None:
    """Log the run's params and metrics and end it: again on a run whose earlier write may have stopped part-way
    (the same params and metric points again change nothing)."""
    metrics, params = run.entities()
    client.log_batch(run_id, metrics=metrics, params=params)
    client.set_terminated(run_id, run.status, end_time=run.end_ms)


class SqlTrialRunWriter:
    """Writes a ``TrialRun`` in one transaction of an MLflow ``SqlAlchemyStore``."""

    def __init__(self, store: Any, experiment_id: str) -> None:
        self.store = store
        self.experiment_id = experiment_id
        self.artifact_location = store.get_experiment(experiment_id).artifact_location

    @classmethod
    def for_client(cls, client: Any, experiment_id: str) -> SqlTrialRunWriter | None:
        """The writer for the client's store, or None where that store is not an MLflow SQL store."""
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = getattr(getattr(client, "_tracking_client", None), "store", None)
        return cls(store, experiment_id) if isinstance(store, SqlAlchemyStore) else None

    @staticmethod
    def validate(run: TrialRun) -> None:
        """MLflow's own checks of keys and values: the error ``MlflowClient.log_batch`` would raise."""
        from mlflow.entities import RunTag
        from mlflow.utils.validation import _validate_batch_log_data

        metrics, params = run.entities()
        _validate_batch_log_data(metrics, params, [RunTag(key, value) for key, value in run.tags.items()])

    def write(self, run: TrialRun) -> str:
        """Insert the run, its tags, params, metric history and latest metrics; return its id."""
        from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
        from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME
        from mlflow.utils.uri import append_to_uri_path

        run_id = uuid.uuid4().hex
        row = SqlRun(
            name=run.name, run_uuid=run_id, experiment_id=int(self.experiment_id), user_id=run.user_id,
            artifact_uri=append_to_uri_path(self.artifact_location, run_id, "artifacts"),
            source_type="UNKNOWN", source_name="", entry_point_name="", source_version="",
            status=run.status, start_time=run.start_ms, end_time=run.end_ms, deleted_time=None, lifecycle_stage="active",
        )
        tags = {**run.tags, MLFLOW_RUN_NAME: run.tags.get(MLFLOW_RUN_NAME, run.name)}
        row.tags = [SqlTag(key=key, value=value) for key, value in tags.items()]
        row.params = [SqlParam(key=key, value=value) for key, value in run.params.items()]
        history = self._metric_rows(run.metrics)
        row.metrics = [SqlMetric(key=k, value=v, timestamp=t, step=s, is_nan=nan) for k, v, t, s, nan in history]
        row.latest_metrics = [
            SqlLatestMetric(key=k, value=v, timestamp=t, step=s, is_nan=nan) for k, v, t, s, nan in _latest(history)
        ]
        with self.store.ManagedSessionMaker(read_only=False) as session:  # writes go to the primary database
            session.add(row)
        return run_id

    def _metric_rows(self, metrics: list[tuple[str, float, int, int]]) -> list[tuple[str, float, int, int, bool]]:
        """MLflow's stored form: NaN as 0 with is_nan, infinities as the largest floats, exact repeats once."""
        rows: dict[tuple[str, float, int, int, bool], None] = {}
        for key, value, timestamp, step in metrics:
            is_nan, stored = self.store.sanitize_metric_value(float(value))
            rows[(key, stored, int(timestamp), int(step), is_nan)] = None
        return list(rows)


def _latest(history: list[tuple[str, float, int, int, bool]]) -> list[tuple[str, float, int, int, bool]]:
    """Per key, the value MLflow shows as the run's metric: the greatest (step, timestamp, value)."""
    latest: dict[str, tuple[str, float, int, int, bool]] = {}
    for row in history:
        key, value, timestamp, step, _ = row
        best = latest.get(key)
        if best is None or (step, timestamp, value) > (best[3], best[2], best[1]):
            latest[key] = row
    return list(latest.values())
