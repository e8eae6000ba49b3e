"""Jobs that share one MLflow store: two `automl tune` started at once on a new default `mlflow.db`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from mlflow import MlflowClient

from tests.conftest import REPO


def test_two_jobs_started_at_once_on_a_new_store_both_record_every_trial(tmp_path: Path) -> None:
    """MLflow creates a new store's tables on first open; two jobs doing that at once raced (one lost its tracking)."""
    (tmp_path / "job.yaml").write_text(yaml.safe_dump({
        "data": str(REPO / "examples" / "data" / "breast_cancer.csv"), "target": "target", "time_budget": 8,
        "estimators": ["lr"], "n_jobs": 1,
    }))
    command = [sys.executable, "-m", "automl", "tune", "job.yaml", "--quiet"]
    jobs = [subprocess.Popen([*command, "--output", f"model{i}.pkl"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [job.communicate(timeout=180) for job in jobs]
    for job, (out, err) in zip(jobs, outputs):
        assert job.returncode == 0, err[-2000:]
        assert "MLflow tracking failed" not in err and "MLflow run id:" in out
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("automl")
    runs = client.search_runs([experiment.experiment_id], max_results=10_000)
    parents = [r for r in runs if r.data.tags.get("automl.role") == "job"]
    assert len(parents) == 2 and {p.info.status for p in parents} == {"FINISHED"}
    for parent in parents:
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert len(children) == parent.data.metrics["n_trials"] > 0
