"""Ranking through the job file and the CLI, recorded in MLflow: the shipped example, run as a user runs it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from automl.metrics import lookup
from automl.svmlight import read_svmlight
from automl.tracking.mlflow_reader import job_run, trial_runs_of
from tests.conftest import REPO
from tests.test_cli import cli

EXAMPLE_JOB = REPO / "examples" / "rank.yaml"
RANK_DATA = REPO / "examples" / "data" / "rank.train"


@pytest.mark.slow
def test_the_example_rank_job_tunes_predicts_and_is_recorded(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = cli("tune", str(EXAMPLE_JOB), "--time-budget", "12", "--output", "model.pkl", "--tracking-uri", uri,
                 "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Test ndcg@10: 0\.\d+ on \d+ rows", result.stdout), result.stdout
    run_id = re.search(r"MLflow run id: (\w+)", result.stdout).group(1)
    model_uri = re.search(r"MLflow model: (\S+)", result.stdout).group(1)
    client, parent = job_run(run_id, uri)
    assert (parent.data.params["task"], parent.data.params["metric"]) == ("rank", "ndcg@10")
    trials = trial_runs_of(client, parent)
    assert trials and all("ndcg_at_10" in t.data.metrics for t in trials if t.data.tags["automl.status"] == "ok")

    result = cli("predict", "--model", "model.pkl", "--data", str(RANK_DATA), "--out", "scores.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    scores = pd.read_csv(tmp_path / "scores.csv")
    frame = read_svmlight(RANK_DATA)
    assert list(scores.columns) == ["prediction"] and len(scores) == len(frame)  # one score per row, no query ids
    ndcg = lookup("ndcg@10").fn(frame.label.to_numpy(), scores.prediction.to_numpy(), frame.qid.to_numpy())
    assert 0.5 < ndcg <= 1.0

    result = cli("predict", "--model", model_uri, "--data", str(RANK_DATA), "--out", "pyfunc.csv", cwd=tmp_path,
                 env={"MLFLOW_TRACKING_URI": uri})  # the MLflow pyfunc model scores rows too
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(pd.read_csv(tmp_path / "pyfunc.csv").prediction, scores.prediction, rtol=1e-9)


def test_a_rank_job_from_a_csv_with_a_group_column(tmp_path: Path) -> None:
    frame = read_svmlight(RANK_DATA).rename(columns={"qid": "query"}).sample(frac=1.0, random_state=0)
    frame.to_csv(tmp_path / "docs.csv", index=False)
    job = {"data": "docs.csv", "target": "label", "group_column": "query", "task": "ranking", "metric": "map@5",
           "time_budget": None, "max_trials": 2, "estimators": ["lr"], "tracking": False, "test_size": 0.25,
           "output": "model.pkl", "n_jobs": 1}
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    result = cli("tune", "job.yaml", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Test map@5: 0\.\d+ on \d+ rows", result.stdout), result.stdout


@pytest.mark.parametrize("fields,message", [
    ({"group_column": "nope"}, "error: group_column 'nope' is not in"),
    ({"group_column": None}, 'error: task="rank" needs groups, one query id per row'),
    ({"metric": "ndcg@x"}, 'error: metric="ndcg@x" has an invalid cutoff'),
])
def test_bad_rank_jobs_are_one_line(tmp_path: Path, fields: dict, message: str) -> None:
    job = {"data": str(RANK_DATA), "target": "label", "group_column": "qid", "task": "rank", "time_budget": None,
           "max_trials": 1, "estimators": ["lr"], "tracking": False, "output": "model.pkl", **fields}
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    result = cli("tune", "job.yaml", "--quiet", cwd=tmp_path)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
