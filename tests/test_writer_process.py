"""The MLflow writer process started ahead of its job: taken by the job it was started for, else stopped unused."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from automl import AutoML
from automl.tracking.writer_process import writer_process, writer_started_early
from tests.conftest import REPO


def fit_one_trial(X: pd.DataFrame, y: pd.Series, tracking_uri: str, experiment: str) -> AutoML:
    return AutoML(time_budget=None, max_trials=1, estimators=["lgbm"], seed=0, n_jobs=1, tracking_uri=tracking_uri,
                  experiment=experiment).fit(X, y)


def test_a_job_takes_the_writer_started_early_for_it_and_it_records_the_job(
        breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str, experiment: str) -> None:
    X, y = breast_cancer
    with writer_started_early(tracking_uri, experiment) as early:
        assert early is not None
        m = fit_one_trial(X, y, tracking_uri, experiment)
        assert early.returncode == 0  # it wrote the job and ended itself (an untaken one is killed at the block's end)
    run = MlflowClient(tracking_uri).get_run(m.mlflow_run_id_)
    assert run.info.status == "FINISHED" and run.data.metrics["n_trials"] == 1
    assert m.model_uri_ is not None


def test_a_job_of_another_experiment_starts_its_own_writer_and_the_early_one_is_stopped_unused(
        breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str, experiment: str) -> None:
    X, y = breast_cancer
    with writer_started_early(tracking_uri, experiment + "-early") as early:
        assert early is not None
        m = fit_one_trial(X, y, tracking_uri, experiment)
        assert early.poll() is None  # still waiting for a job of its own
    assert early.returncode == -9
    client = MlflowClient(tracking_uri)
    assert client.get_run(m.mlflow_run_id_).info.experiment_id == client.get_experiment_by_name(experiment).experiment_id
    assert client.get_experiment_by_name(experiment + "-early") is None


def test_a_writer_whose_job_never_began_exits_and_leaves_no_store_and_no_journal(
        tmp_path: Path, journal_folder: Path) -> None:
    store = tmp_path / "never.db"
    with writer_started_early(f"sqlite:///{store}", "never") as early:
        assert early is not None and early.stdin is not None
        early.stdin.close()  # what the writer sees when the command that started it dies
        assert early.wait(timeout=120) == 0
    assert not store.exists()
    assert list(journal_folder.iterdir()) == []
    with writer_started_early(f"sqlite:///{store}", "never") as unused:
        pass
    assert unused is not None and unused.returncode is not None  # stopped at the block's end
    assert not store.exists()


def test_without_an_early_start_a_job_starts_its_writer_itself(tmp_path: Path) -> None:
    process = writer_process(f"sqlite:///{tmp_path / 'store.db'}", "plain")
    try:
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
    with writer_started_early("sqlite:///x.db", "off", enabled=False) as early:
        assert early is None


def test_automl_tune_starts_one_writer_before_importing_the_job_s_libraries(tmp_path: Path) -> None:
    """The command's writer starts before MLflow, scikit-learn or the data are loaded here, and the job takes it."""
    job = tmp_path / "job.yaml"
    job.write_text(f"data: {REPO / 'examples' / 'data' / 'breast_cancer.csv'}\ntarget: target\nmax_trials: 1\n"
                   f"estimators: lgbm\ntracking_uri: sqlite:///{tmp_path / 'mlflow.db'}\noutput: model.pkl\n")
    probe = textwrap.dedent(f"""
        import sys
        import automl.tracking.writer_process as writers
        launches = []
        launch = writers._launch
        def counted(key):
            launches.append(sorted(m for m in ("sklearn", "mlflow", "pandas", "lightgbm") if m in sys.modules))
            return launch(key)
        writers._launch = counted
        from typer.testing import CliRunner
        from automl.cli.app import app
        result = CliRunner().invoke(app, ["tune", {str(job)!r}, "--quiet"])
        assert result.exit_code == 0, result.output
        print("launches:", launches)
    """)
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "launches: [[]]" in result.stdout, result.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("automl").experiment_id])
    assert [r.data.tags.get("automl.role") for r in runs].count("job") == 1
