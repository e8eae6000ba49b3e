"""A real `ray start --head` on loopback: `automl submit` runs a job there, its trials land in MLflow; a driver that
joins it and is killed leaves nothing running there, and its job resumes on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import ray  # noqa: F401 - a test dependency: without it these tests fail, they do not skip
from mlflow import MlflowClient

from tests.job_files import job_folder
from tests.loopback import free_port, ray_trial_workers

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))



@dataclass(frozen=True)
class RayHead:
    dashboard: str  # the job server's address (`automl submit --address`)
    address: str  # the cluster's address (`ray_address`, for a driver that joins it)


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    """A Ray head node started as a user would, with its job server on a loopback port."""
    temp = tmp_path_factory.mktemp("ray")
    dashboard, port = free_port(), free_port()
    command = [RAY, "start", "--head", f"--port={port}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}",
               "--num-cpus=2", "--include-dashboard=true", "--disable-usage-stats", f"--temp-dir={temp}"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    address = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{address}/api/version", timeout=2)
            break
        except urllib.error.HTTPError:  # it answers (401 without the cluster's token): up
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    yield RayHead(address, f"127.0.0.1:{port}")
    subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


def submit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "automl", "submit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})


def test_submitted_job_runs_on_the_cluster_and_records_its_trials(ray_head: RayHead, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    # it ends at 8 trials; the budget is a bound a slow CI machine (about 2x, 12.6 s to start two workers) never meets
    job = job_folder(tmp_path, tracking_uri=f"sqlite:///{store}", time_budget=90, max_trials=8)
    done = submit(str(job), "--address", ray_head.dashboard, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SUCCEEDED" in done.stdout and "tuning: 1 trials" in done.stdout  # progress streamed from the cluster
    assert "--backend ray" in done.stdout  # trials ran on the cluster's workers, not in the job's driver
    client = MlflowClient(f"sqlite:///{store}")
    runs = client.search_runs([client.get_experiment_by_name("submitted").experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("automl.role") == "job"]
    trials = [r for r in runs if r.data.tags.get("automl.role") == "trial"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.params["backend"] == "ray" and parents[0].data.params["n_concurrent_trials"] == "2"
    assert len(trials) == parents[0].data.metrics["n_trials"] == 8
    assert sorted(int(r.data.tags["automl.trial_id"]) for r in trials) == list(range(len(trials)))
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parents[0].info.run_id}
    assert len({r.data.tags["automl.worker"] for r in trials}) == 2


def test_a_relative_sqlite_store_is_made_absolute_for_the_cluster(ray_head: RayHead, tmp_path: Path) -> None:
    job = job_folder(tmp_path, time_budget=6, estimators=["lr"])
    done = submit(str(job), "--address", ray_head.dashboard, "--tracking-uri", "sqlite:///local.db", "--no-wait", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"MLflow store: sqlite:///{tmp_path.resolve() / 'local.db'}" in done.stdout.replace("\n", "")
    assert "ray job logs --follow raysubmit_" in done.stdout.replace("\n", "")


def test_data_outside_the_job_folder_is_refused_before_submitting(ray_head: RayHead, tmp_path: Path) -> None:
    job = job_folder(tmp_path, data=str(REPO / "examples" / "data" / "breast_cancer.csv"))
    done = submit(str(job), "--address", ray_head.dashboard, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: data file") and "is outside the job file's folder" in done.stderr
    assert "Submitted" not in done.stdout


def test_no_job_server_at_the_address_is_one_clear_error(tmp_path: Path) -> None:
    job = job_folder(tmp_path)
    done = submit(str(job), "--address", f"http://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert done.returncode == 2 and "no Ray job server answered" in done.stderr
    assert "Traceback" not in done.stderr



def test_a_killed_driver_leaves_no_worker_behind_and_its_job_resumes_on_ray(ray_head: RayHead, tmp_path: Path) -> None:
    """SIGKILL of `automl tune --backend ray` (driver, writer and all): the cluster drops the job's actors, the
    job's run ends KILLED once its heartbeat is stale, and `automl resume` continues it on the cluster."""
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    job = job_folder(tmp_path, time_budget=300, tracking_uri=uri, experiment="driver-death", backend="ray",
                     ray_address=ray_head.address, estimators=["lr", "lgbm"])
    # RAY_AUTH_MODE=token, as the README says for a token cluster (without it the first try costs 20 s)
    env = {**os.environ, "AUTOML_HEARTBEAT_INTERVAL_S": "0.5", "COLUMNS": "200", "RAY_AUTH_MODE": "token"}
    tune = subprocess.Popen([sys.executable, "-m", "automl", "tune", str(job), "--quiet"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def trials() -> list:
        try:
            client = MlflowClient(uri)
            found = client.get_experiment_by_name("driver-death")
            return client.search_runs([found.experiment_id], "tags.`automl.role` = 'trial'") if found else []
        except Exception:  # noqa: BLE001 - the store is being created
            return []

    deadline = time.monotonic() + 120
    while len(trials()) < 3:
        assert tune.poll() is None and time.monotonic() < deadline, tune.stderr.read() if tune.poll() is not None else ""
        time.sleep(0.3)
    assert ray_trial_workers(), "no Ray trial worker ran"
    os.killpg(tune.pid, signal.SIGKILL)
    tune.wait(timeout=30)
    killed = time.monotonic()
    while ray_trial_workers():
        assert time.monotonic() - killed < 60, "the job's Ray workers outlived its driver by a minute"
        time.sleep(0.5)
    time.sleep(12 * 0.5 + 1)  # twelve heartbeat intervals: the job is dead
    jobs = subprocess.run([sys.executable, "-m", "automl", "jobs", "--tracking-uri", uri], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert jobs.returncode == 0 and "KILLED" in jobs.stdout, jobs.stdout + jobs.stderr
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("driver-death").experiment_id
    (dead,) = client.search_runs([experiment], "tags.`automl.role` = 'job'")
    assert dead.info.status == "KILLED"
    done = len(trials())  # with what `automl jobs` wrote from the killed writer's journal
    resumed = subprocess.run([sys.executable, "-m", "automl", "resume", dead.info.run_id, "--tracking-uri", uri,
                              "--max-trials", str(done + 2), "--time-budget", "60", "--quiet"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)  # ends at two new trials, a slow machine too
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (after,) = [r for r in client.search_runs([experiment], "tags.`automl.role` = 'job'")
                if r.info.run_id != dead.info.run_id]
    assert after.data.tags["automl.resumed_from"] == dead.info.run_id and after.data.params["backend"] == "ray"
    assert after.data.params["ray_address"] == ray_head.address and after.info.status == "FINISHED"
    trials_after = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{after.info.run_id}'")
    replayed = [t for t in trials_after if t.data.tags.get("automl.replayed") == "true"]
    fresh = [t for t in trials_after if t.data.tags.get("automl.replayed") != "true"]
    recorded = sorted((int(t.data.tags.get("automl.trial_id", -1)), t.data.tags.get("automl.estimator"), t.data.params)
                      for t in client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{dead.info.run_id}'"))
    assert len(replayed) == done, (recorded, resumed.stderr[-3000:])  # asked and told in the order they were
    assert fresh and all(t.data.tags.get("automl.worker") for t in fresh), (len(trials_after), resumed.stdout[-4000:].replace("\n", " | "))  # new trials ran on the cluster's workers
