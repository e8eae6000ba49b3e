"""The MLflow server goes away mid-job: the budget holds, and no trial is lost (written on its return, or by
``automl sync`` from the job's journal). The session's real ``mlflow server`` process, killed with SIGKILL and
restarted on the same port and store (each test leaves it running), or cut off for seconds by a proxy (a restart
takes 5 to 35 s on 2 loaded cores: too long to come back inside a short job every time)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from rich.console import Console

from automl import AutoML, InputError
from automl import load_model
from automl.cli.sync_command import run_sync
from automl.tracking.journal import JOURNAL_DIR_ENV, Journal, is_left, read_journal
from automl.tracking.sync import sync_journal
from tests.job_files import job_folder
from tests.loopback import MlflowServer, TcpProxy


@pytest.fixture
def server(mlflow_server: MlflowServer) -> Iterator[MlflowServer]:
    """The session's server, running again after the test whatever happened in it."""
    yield mlflow_server
    if mlflow_server.process is None:
        mlflow_server.start()


def runs_by_role(uri: str, experiment: str) -> dict[str, list]:
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], max_results=5000) if found else []
    return {role: [r for r in runs if r.data.tags.get("automl.role") == role] for role in ("job", "trial")}


def wait_for_job_run(uri: str, experiment: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not runs_by_role(uri, experiment)["job"]:
        assert time.monotonic() < deadline, "the job's run never appeared"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_server_that_stays_away_leaves_a_journal_that_sync_writes(server: MlflowServer, tmp_path: Path) -> None:
    job = job_folder(tmp_path, time_budget=12, n_concurrent_trials=1, experiment="stays-away",
                     tracking_uri=server.uri, estimators=["lr"])
    env = {**os.environ, JOURNAL_DIR_ENV: str(tmp_path / "journals")}
    tune = subprocess.Popen([sys.executable, "-m", "automl", "tune", str(job), "--output", str(tmp_path / "model.pkl")],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_job_run(server.uri, "stays-away")
    opened = time.monotonic()
    time.sleep(1)
    server.kill()
    out, err = tune.communicate(timeout=120)
    took = time.monotonic() - opened
    assert tune.returncode == 0, err
    assert took <= 12 * 1.05 + 1
    journals = list((tmp_path / "journals").glob("*.journal"))
    assert len(journals) == 1
    said = " ".join(err.split())
    assert f"run `automl sync {journals[0]}` once the store is back" in said, err
    assert re.search(r"could not be written in time: (\d+ trial run\(s\) and the job's result are|the job's result "
                     r"is) not recorded yet", said), said
    model = load_model(tmp_path / "model.pkl")  # the model file is written either way
    assert model.predict(pd.read_csv(job.parent / "data" / "breast_cancer.csv").drop(columns="target").head(5)).shape == (5,)

    server.start()
    synced = subprocess.run([sys.executable, "-m", "automl", "sync", str(journals[0])], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert synced.returncode == 0, synced.stderr
    assert "the journal is removed" in synced.stdout and not journals[0].exists()
    runs = runs_by_role(server.uri, "stays-away")
    (job_run,) = runs["job"]
    ids = Counter(r.data.tags["automl.trial_id"] for r in runs["trial"])
    assert max(ids.values()) == 1 and len(ids) == int(job_run.data.metrics["n_trials"])
    assert job_run.info.status == "FINISHED" and "best_score" in job_run.data.metrics
    assert job_run.data.tags["automl.best_estimator"] in ("lr", "lgbm")


def error_rate_in_a_third_of_a_second(X_val, y_val, estimator, *args):  # noqa: ANN001, ANN002, ANN201
    time.sleep(0.33)
    return float((estimator.predict(X_val) != np.asarray(y_val)).mean()), {}


@pytest.mark.slow
def test_a_server_that_is_unreachable_for_seconds_gets_every_trial_when_it_is_back(
        server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server vanishes from the network for 5 s (a proxy cuts every connection: what a crash or a partition
    looks like to the writer) and is back: every trial is recorded, in the job's run, once. The trials take a third
    of a second (an HTTP store writes 4-6 trial runs a second here): the outage's backlog fits in the job."""
    monkeypatch.setenv(JOURNAL_DIR_ENV, str(tmp_path / "journals"))
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(2000, 10)), columns=list("abcdefghij"))
    y = pd.Series((X.a + X.b > 0).astype(int))
    proxy = TcpProxy(server.port)
    outage: dict[str, float] = {}

    def cut_and_restore() -> None:
        wait_for_job_run(proxy.uri, "comes-back")
        time.sleep(1)
        proxy.cut()
        outage["down"] = time.time()
        time.sleep(5)
        proxy.restore()
        outage["up"] = time.time()

    helper = threading.Thread(target=cut_and_restore)
    helper.start()
    started = time.monotonic()
    m = AutoML(time_budget=20, estimators=["lr"], eval_method="holdout", strategy="random", early_stop=None, n_jobs=1,
               metric=error_rate_in_a_third_of_a_second, tracking_uri=proxy.uri, experiment="comes-back").fit(X, y)
    took = time.monotonic() - started
    helper.join()
    proxy.close()
    assert "up" in outage, "the proxy did not come back"
    assert took <= 20 * 1.05 + 1
    runs = runs_by_role(server.uri, "comes-back")
    ids = Counter(r.data.tags["automl.trial_id"] for r in runs["trial"])
    assert sorted(int(i) for i in ids) == [t.trial_id for t in m.study_.trials]  # every trial, none twice
    assert max(ids.values()) == 1
    assert any(outage["down"] < t.started_at < outage["up"] for t in m.study_.trials), "no trial ran while it was away"
    assert [r.info.status for r in runs["job"]] == ["FINISHED"] and m.tracking_journal_ is None
    assert not list((tmp_path / "journals").glob("*.journal"))  # written, so removed


def test_sync_names_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    (tmp_path / "x.journal").write_bytes(b"not a journal")
    with pytest.raises(InputError, match=r"'.*x.journal' is not an automl tracking journal"):
        sync_journal(tmp_path / "x.journal")
    with pytest.raises(InputError, match=r"journal '.*missing.journal' does not exist"):
        sync_journal(tmp_path / "missing.journal")


def test_sync_leaves_the_journal_of_a_running_job_alone(journal_folder: Path) -> None:
    """A live writer holds its journal locked (as every running job's writer does): `automl sync` without an
    argument skips it and says so, named it is refused; once let go, it counts as left."""
    held = Journal(journal_folder / "running.journal", {"run_id": None})
    try:
        assert not is_left(held.path) and not list(journal_folder.glob(".*"))  # no half-made file beside it
        with pytest.raises(InputError, match=r"'.*running.journal' is still being written by a running job"):
            sync_journal(held.path)
        said = io.StringIO()
        with pytest.raises(InputError, match="holds no \\*.journal file that a job left"):
            run_sync([], None, Console(file=said, width=300))
        assert f"{held.path}: skipped, a running job is writing it" in said.getvalue()
    finally:
        held.close()
    assert is_left(held.path) and read_journal(held.path).state == {"run_id": None}
