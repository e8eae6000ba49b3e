"""The MLflow writer process started ahead of its job (by a command, or kept spare after a job): taken by the next
job of its process and environment, else stopped unused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

import automl.tracking.writer_process as writers
from automl import AutoML
from automl.tracking.journal import JOURNAL_DIR_ENV
from automl.tracking.writer_process import SPARE_ENV, keep_a_spare, writer_process, writer_started_early
from tests.conftest import REPO


def fit_one_trial(X: pd.DataFrame, y: pd.Series, tracking_uri: str, experiment: str) -> AutoML:
    return AutoML(time_budget=None, max_trials=1, estimators=["lgbm"], seed=0, n_jobs=1, tracking_uri=tracking_uri,
                  experiment=experiment).fit(X, y)


def test_a_job_takes_the_writer_started_early_for_it_and_it_records_the_job(
        breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str, experiment: str) -> None:
    X, y = breast_cancer
    spares = [w.process for w in writers._waiting if w.spare]  # left by earlier jobs of this process
    with writer_started_early() as early:
        assert early is not None
        m = fit_one_trial(X, y, tracking_uri, experiment)
        assert early.returncode == 0  # it wrote the job and ended itself (an untaken one is killed at the block's end)
        assert [w.process for w in writers._waiting if w.spare] == spares  # a command's job starts no spare
    run = MlflowClient(tracking_uri).get_run(m.mlflow_run_id_)
    assert run.info.status == "FINISHED" and run.data.metrics["n_trials"] == 1
    assert m.model_uri_ is not None


def test_a_job_in_another_environment_starts_its_own_writer_and_the_early_one_is_stopped_unused(
        breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str, experiment: str) -> None:
    X, y = breast_cancer
    with writer_started_early(environment={"MLFLOW_TRACKING_USERNAME": "someone-else"}) as early:
        assert early is not None
        m = fit_one_trial(X, y, tracking_uri, experiment)
        assert early.poll() is None  # still waiting for a job of its own
    assert early.returncode == -9
    client = MlflowClient(tracking_uri)
    assert client.get_run(m.mlflow_run_id_).info.experiment_id == client.get_experiment_by_name(experiment).experiment_id


def test_a_writer_whose_job_never_began_exits_and_leaves_no_store_and_no_journal(
        tmp_path: Path, journal_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with writer_started_early() as early:
        assert early is not None and early.stdin is not None
        early.stdin.close()  # what the writer sees when the command that started it dies
        assert early.wait(timeout=120) == 0
    with writer_started_early() as unused:
        pass
    assert unused is not None and unused.returncode is not None  # stopped at the block's end
    assert list(tmp_path.iterdir()) == [] and list(journal_folder.iterdir()) == []  # no default store, no journal


def test_without_an_early_start_a_job_starts_its_writer_itself(tmp_path: Path) -> None:
    process = writer_process(f"sqlite:///{tmp_path / 'store.db'}", "plain")
    try:
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
    with writer_started_early(enabled=False) as early:
        assert early is None


def test_the_next_job_of_a_process_takes_the_spare_writer_its_last_job_left_and_writes_where_it_runs(
        breast_cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spare waits after a tracked job; the next job takes it with its own store, experiment, working folder
    (a relative SQLite path is that folder's) and journal folder, and leaves a new spare."""
    X, y = breast_cancer
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    fit_one_trial(X, y, "sqlite:///jobs.db", "first")
    (spare,) = [w.process for w in writers._waiting if w.spare]
    assert spare.poll() is None
    monkeypatch.chdir(second)
    monkeypatch.setenv(JOURNAL_DIR_ENV, str(tmp_path / "journals"))
    m = fit_one_trial(X, y, "sqlite:///jobs.db", "second")
    assert spare.returncode == 0  # it wrote the second job and ended itself
    (after,) = [w.process for w in writers._waiting if w.spare]
    assert after is not spare and after.poll() is None
    client = MlflowClient(f"sqlite:///{second / 'jobs.db'}")
    run = client.get_run(m.mlflow_run_id_)
    assert run.info.status == "FINISHED" and client.get_experiment(run.info.experiment_id).name == "second"
    assert MlflowClient(f"sqlite:///{first / 'jobs.db'}").get_experiment_by_name("second") is None


def test_a_spare_writer_ends_with_its_process(tmp_path: Path) -> None:
    probe = textwrap.dedent(f"""
        from sklearn.datasets import load_breast_cancer
        from automl import AutoML
        import automl.tracking.writer_process as writers
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        AutoML(time_budget=None, max_trials=1, estimators=["lr"], n_jobs=1,
               tracking_uri="sqlite:///{tmp_path / 'store.db'}").fit(X, y)
        print("spares:", [w.process.pid for w in writers._waiting if w.spare])
    """)
    kept = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert kept.returncode == 0, kept.stderr
    (pid,) = [int(p) for p in re.findall(r"spares: \[(\d+)\]", kept.stdout)]
    with pytest.raises(ProcessLookupError):  # stopped at the interpreter's exit, not left waiting for 5 minutes
        os.kill(pid, 0)


def test_no_spare_writer_is_kept_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPARE_ENV, "0")
    waiting = list(writers._waiting)
    keep_a_spare()
    assert writers._waiting == waiting
    monkeypatch.setenv(SPARE_ENV, "1")
    keep_a_spare()
    assert [w for w in writers._waiting if w.spare and w.process.poll() is None]


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
