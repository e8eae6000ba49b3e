"""Trial runs written in one SQL transaction read back through MlflowClient exactly as client-written ones do."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from automl.study import FAILED, OK, PRUNED, Trial
from automl.records import to_run
from automl.tracking.mlflow_records import MlflowRecorder
from automl.tracking.trial_runs import SqlTrialRunWriter, write_with_client


def sample_trials() -> list[Trial]:
    now = time.time()
    return [
        Trial(0, "lgbm", {"num_leaves": 31, "learning_rate": 0.05, "objective": "binary"}, 7, status=OK, score=0.91,
              loss=-0.91, metrics={"roc_auc": 0.91}, duration_s=1.25, fit_time_s=1.1, started_at=now,
              intermediate=[(10, -0.8), (20, -0.9), (30, -0.91)], worker="123@node-a", retries=1, device="cuda"),
        Trial(1, "rf", {"n_estimators": 50, "max_features": None}, 8, status=FAILED, error="ValueError: boom\n" * 10,
              duration_s=0.5, started_at=now + 1),
        Trial(2, "xgboost", {"max_depth": 6}, 9, status=PRUNED, score=float("nan"), loss=float("inf"),
              metrics={"roc_auc": float("-inf")}, duration_s=0.3, started_at=now + 2,
              intermediate=[(10, -0.5), (10, -0.5), (20, float("nan"))]),
    ]


def readable(client: MlflowClient, run_id: str) -> dict:
    """What a reviewer sees of a run through MLflow's client, without its id."""
    run = client.get_run(run_id)
    info = run.info
    metrics = {}
    for key in run.data.metrics:
        metrics[key] = [(m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value)
                        for m in client.get_metric_history(run_id, key)]
    latest = {k: "nan" if math.isnan(v) else v for k, v in run.data.metrics.items()}
    return {
        "info": (info.run_name, info.status, info.start_time, info.end_time, info.lifecycle_stage, info.user_id,
                 info.artifact_uri.replace(run_id, "RUN")),
        "tags": run.data.tags, "params": run.data.params, "latest": latest, "history": metrics,
    }


@pytest.fixture
def recorder(tracking_uri: str, experiment: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowRecorder]:
    """A recorder in this process. It sets MLflow's global tracking URI (and MLFLOW_TRACKING_URI), which is right in
    the writer process it is made for; here both are put back afterwards, so later tests see their own stores."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)  # restored to what it was by monkeypatch's teardown
    recorder = MlflowRecorder(tracking_uri, experiment)
    recorder.open({"task": "binary"}, {"automl.job_name": "contract"})
    yield recorder
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # back to "unset": env var or default


def test_sql_writer_is_used_for_sqlite_stores(recorder: MlflowRecorder) -> None:
    assert isinstance(recorder.sql_writer, SqlTrialRunWriter)


def test_one_transaction_runs_equal_client_runs(recorder: MlflowRecorder) -> None:
    client = MlflowClient(recorder.tracking_uri)
    for trial in sample_trials():
        run = to_run(trial, "tpe", recorder.run_id)
        by_client = readable(client, write_with_client(client, recorder.experiment_id, run))
        by_sql = readable(client, recorder.sql_writer.write(run))  # type: ignore[union-attr]
        assert by_sql == by_client
    assert by_sql["history"]["intermediate_loss"][0][2] == -0.5  # the repeated report stored once, NaN kept as NaN
    assert [h[2] for h in by_sql["history"]["intermediate_loss"]] == [-0.5, "nan"]


def test_sql_written_trials_are_searchable(recorder: MlflowRecorder) -> None:
    for trial in sample_trials():
        recorder.write_trial(trial, "tpe")
    client = MlflowClient(recorder.tracking_uri)
    found = client.search_runs(
        [recorder.experiment_id],
        f"tags.mlflow.parentRunId = '{recorder.run_id}' and tags.automl.estimator = 'lgbm' and metrics.score > 0.9",
    )
    assert [r.data.tags["automl.trial_id"] for r in found] == ["0"]
    assert found[0].data.tags["automl.device"] == "cuda"
    failed = client.search_runs([recorder.experiment_id], "attributes.status = 'FAILED'")
    assert [r.data.tags["automl.error"].splitlines()[0] for r in failed] == ["ValueError: boom"]
    assert recorder.sql_writer is not None  # no fallback happened


def test_invalid_trial_data_is_refused_like_the_client_does(recorder: MlflowRecorder) -> None:
    bad = Trial(5, "lgbm", {"bad key!": 1}, 0, status=OK, score=0.5, started_at=time.time())
    with pytest.raises(MlflowException, match="bad key!"):
        recorder.write_trial(bad, "tpe")
    with pytest.raises(MlflowException, match="bad key!"):
        write_with_client(recorder.client, recorder.experiment_id, to_run(bad, "tpe", recorder.run_id))
    assert recorder.sql_writer is not None  # bad data is the trial's problem, not the writer's


def test_a_failing_sql_write_falls_back_to_the_client(recorder: MlflowRecorder) -> None:
    recorder.sql_writer.artifact_location = None  # type: ignore[union-attr]  # the insert can no longer be built
    recorder.write_trial(sample_trials()[0], "tpe")
    assert recorder.sql_writer is None
    runs = recorder.client.search_runs([recorder.experiment_id], f"tags.mlflow.parentRunId = '{recorder.run_id}'")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
