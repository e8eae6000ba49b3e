"""The command line, run as a user runs it: a real process, real files, a real MLflow store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "data" / "breast_cancer.csv"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "automl", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def write_job(tmp_path: Path, **fields: object) -> Path:
    job = {"data": str(EXAMPLE), "target": "target", "time_budget": 20, "max_trials": 4, "seed": 0,
           "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "cli", "output": "model.pkl"}
    job.update(fields)
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


@pytest.mark.slow
def test_tune_job_file_then_predict_from_file_and_from_mlflow(tmp_path: Path) -> None:
    job = write_job(tmp_path, test_size=0.2, metric="roc_auc")
    result = cli("tune", str(job), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("Leaderboard", "Best configuration", "Test roc_auc", "Model written to", "MLflow run id"):
        assert expected in out, out
    run_id = re.search(r"MLflow run id: (\w+)", out).group(1)
    model_uri = re.search(r"MLflow model: (\S+)", out).group(1)
    assert (tmp_path / "model.pkl").is_file()  # relative to the job file's folder
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert client.get_run(run_id).data.params["max_trials"] == "4"
    source = client.get_run(run_id).inputs.dataset_inputs[0].dataset
    assert source.source_type == "local" and json.loads(source.source) == {"uri": str(EXAMPLE.resolve())}

    rows = pd.read_csv(EXAMPLE).drop(columns="target").head(25)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = cli("predict", "--model", "model.pkl", "--data", "rows.csv", "--out", "pred.csv", "--proba", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(tmp_path / "pred.csv")
    assert list(predictions.columns) == ["prediction", "proba_0", "proba_1"] and len(predictions) == 25

    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    result = cli("predict", "--model", model_uri, "--data", "rows.csv", "--out", "pred2.parquet", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert pd.read_parquet(tmp_path / "pred2.parquet")["prediction"].tolist() == predictions["prediction"].tolist()


def test_flags_override_the_job_file(tmp_path: Path) -> None:
    job = write_job(tmp_path, strategy="grid", estimators=["rf"])
    result = cli("tune", str(job), "--estimators", "lr", "--max-trials", "2", "--no-tracking", "--output",
                 str(tmp_path / "flagged.pkl"), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Best: lr" in result.stdout
    assert (tmp_path / "flagged.pkl").is_file() and not (tmp_path / "mlflow.db").exists()


def test_flags_alone_without_a_job_file(tmp_path: Path) -> None:
    result = cli("tune", "--data", str(EXAMPLE), "--target", "target", "--estimators", "lgbm", "--max-trials", "2",
                 "--time-budget", "15", "--no-tracking", "--metric", "accuracy", cwd=tmp_path)  # with the live display
    assert result.returncode == 0, result.stderr
    assert "accuracy=" in result.stdout and (tmp_path / "model.pkl").is_file()


def test_strategy_and_early_stop_from_job_file_and_flags(tmp_path: Path) -> None:
    job = write_job(tmp_path, strategy="cfo", early_stop="asha", estimators=["lgbm", "xgboost"], max_trials=6, eval_method="holdout")
    result = cli("tune", str(job), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"MLflow run id: (\w+)", result.stdout).group(1)
    params = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(run_id).data.params
    assert (params["strategy"], params["early_stop"]) == ("cfo", "asha")
    result = cli("tune", str(job), "--strategy", "blendsearch", "--early-stop", "median", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # the flags win over the file in what the job would run
    assert "strategy │ blendsearch (chosen by the user); early stopping: median" in " ".join(result.stdout.split())


def test_spaces_list_and_show(tmp_path: Path) -> None:
    listed = cli("spaces", "list", cwd=tmp_path)
    assert listed.returncode == 0 and all(f in listed.stdout for f in ("lgbm", "xgb_limitdepth", "extra_trees", "lr"))
    shown = cli("spaces", "show", "lgbm", cwd=tmp_path)
    assert shown.returncode == 0
    assert "n_estimators: int [4, min(4096, n_rows)] log, default=100, low_cost=4" in shown.stdout


@pytest.mark.parametrize(
    ("fields", "args", "message"),
    [
        ({"target": "diagnosis"}, [], "target column 'diagnosis' is not in .*; its columns are: mean radius"),
        ({"data": "missing.csv"}, [], r"data file '.*missing.csv' does not exist"),
        ({"data": str(REPO / "pyproject.toml")}, [], r"unknown type '.toml'; use a .csv or .parquet file"),
        ({"timebudget": 5}, [], r"unknown field 'timebudget'; allowed fields: data, target"),
        ({"time_budget": -1}, [], r"field 'time_budget' = -1 is invalid"),
        ({"metric": "roc_acu"}, [], 'Unknown metric "roc_acu" for metric. Did you mean "roc_auc"'),
        ({"strategy": "bayes"}, [], 'Unknown strategy "bayes"'),
        ({}, ["--estimators", "lgbm,catboost"], 'Unknown estimator "catboost"'),
        ({}, ["--task", "regresion"], 'Did you mean "regression"'),
        ({"early_stop": "bohb"}, [], 'Unknown early-stopping rule "bohb" for early_stop'),
    ],
)
def test_bad_jobs_fail_in_one_line_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: dict,
                                                   args: list[str], message: str) -> None:
    """The command run in this process (the way to the process's exit status is tested by the other bad-input
    tests, through `python -m automl`): 2 s less per case."""
    from typer.testing import CliRunner

    from automl.cli.app import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["tune", str(write_job(tmp_path, **fields)), *args])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "model.pkl").exists()


def test_missing_job_file_and_bad_predict_inputs(tmp_path: Path) -> None:
    result = cli("tune", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "job file 'nope.yaml' does not exist" in result.stderr
    result = cli("predict", "--model", "nope.pkl", "--data", str(EXAMPLE), "--out", "p.csv", cwd=tmp_path)
    assert result.returncode == 2 and "model file 'nope.pkl' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_with_missing_columns_is_one_line(tmp_path: Path) -> None:
    result = cli("tune", str(write_job(tmp_path, estimators=["lr"], max_trials=1, tracking=False)), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pd.read_csv(EXAMPLE).drop(columns=["target", "mean radius"]).head(3).to_csv(tmp_path / "rows.csv", index=False)
    result = cli("predict", "--model", "model.pkl", "--data", "rows.csv", "--out", "p.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert re.search(r"error: X is missing column\(s\) \['mean radius'\]", result.stderr)
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.slow
def test_register_flag_and_ui_command(tmp_path: Path) -> None:
    import os
    import socket

    result = cli("tune", str(write_job(tmp_path, estimators=["lr"], max_trials=2)), "--register", "cli-model", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Registered model: models:/cli-model/1" in result.stdout
    run_id = re.search(r"MLflow run id: (\w+)", result.stdout).group(1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui = subprocess.Popen(
        [sys.executable, "-m", "automl", "ui", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--experiment", "cli",
         "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    try:  # the UI serving its pages, the run's among them: tests/test_browser.py
        line = ui.stdout.readline()
        assert line.strip().startswith(f"MLflow UI: http://127.0.0.1:{port}/#/experiments/") and line.strip().endswith(f"/runs/{run_id}")
    finally:
        ui.terminate()  # while MLflow's UI starts: it stops with its workers, and automl ui ends
        assert ui.wait(timeout=30) is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # nothing of the UI holds its port


def test_ensemble_flag_is_checked_before_any_work(tmp_path: Path) -> None:
    job = write_job(tmp_path, ensemble="maybe")
    result = cli("tune", str(job), "--quiet", cwd=tmp_path)
    assert result.returncode == 2 and 'ensemble=\'maybe\' is invalid; pass "auto"' in result.stderr, result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_version_and_a_dry_run_that_fits_and_writes_nothing(tmp_path: Path) -> None:
    import automl

    version = cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"automl {automl.__version__}"
    job = write_job(tmp_path, time_budget=30)
    before = set(tmp_path.iterdir())
    result = cli("tune", str(job), "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "task │ binary (metric roc_auc, maximize)" in out and "5-fold cross-validation" in out
    assert re.search(r"strategy │ tpe \(\d+ x \d+ data is small for the budget\)", out)
    assert "Nothing was fitted or written." in out
    assert set(tmp_path.iterdir()) == before  # no model file, no MLflow store
    bad = cli("tune", str(write_job(tmp_path, metric="acuracy")), "--dry-run", cwd=tmp_path)
    assert bad.returncode == 2 and 'Did you mean "accuracy"' in bad.stderr


def test_mlflow_s_own_messages_go_to_a_log_file_unless_verbose(tmp_path: Path) -> None:
    job = write_job(tmp_path, max_trials=2, estimators=["lr"], time_budget=None)
    quiet = cli("tune", str(job), "--quiet", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    log = tmp_path / "automl.log"
    assert "Creating initial MLflow database tables" in log.read_text()  # a fresh store, created by the writer
    assert "mlflow" not in quiet.stderr.replace(f"MLflow's own messages: {log}", "").lower(), quiet.stderr
    assert quiet.stderr.count(f"MLflow's own messages: {log}") == 1
    (tmp_path / "mlflow.db").unlink()
    verbose = cli("tune", str(job), "--quiet", "--verbose", cwd=tmp_path)
    assert verbose.returncode == 0 and "Creating initial MLflow database tables" in verbose.stderr, verbose.stderr


def test_a_command_imports_mlflow_only_when_it_needs_it_and_its_messages_still_go_to_the_log(tmp_path: Path) -> None:
    """Routing MLflow's messages for a command does not import MLflow (1.4 s); imported later in the command, MLflow
    leaves the routing as it is (its own handlers would print on stderr)."""
    script = (
        "import logging, sys\nfrom pathlib import Path\nfrom automl.tracking.chatter import third_party_logs_to\n"
        "with third_party_logs_to(Path(sys.argv[1])):\n"
        "    print('mlflow' in sys.modules)\n"
        "    import mlflow\n"
        "    logging.getLogger('mlflow.store').info('an mlflow line')\n"
        "    logging.getLogger('alembic').warning('an alembic line')\n"
    )
    log = tmp_path / "automl.log"
    result = subprocess.run([sys.executable, "-c", script, str(log)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]
    assert "an mlflow line" in log.read_text() and "an alembic line" in log.read_text()
    assert "line" not in result.stderr, result.stderr
