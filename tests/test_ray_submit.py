"""`automl submit` against a real `ray start --head` on loopback: the job runs there, its trials land in MLflow."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import ray  # noqa: F401 - a test dependency: without it these tests fail, they do not skip
from mlflow import MlflowClient

from tests.job_files import job_folder
from tests.loopback import free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))



@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Ray head node started as a user would, with its job server on a loopback port."""
    temp = tmp_path_factory.mktemp("ray")
    dashboard = free_port()
    command = [RAY, "start", "--head", f"--port={free_port()}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}",
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
    yield address
    subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


def submit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "automl", "submit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})


def test_submitted_job_runs_on_the_cluster_and_records_its_trials(ray_head: str, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    job = job_folder(tmp_path, tracking_uri=f"sqlite:///{store}")
    done = submit(str(job), "--address", ray_head, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SUCCEEDED" in done.stdout and "tuning: 1 trials" in done.stdout  # progress streamed from the cluster
    assert "--backend ray" in done.stdout  # trials ran on the cluster's workers, not in the job's driver
    client = MlflowClient(f"sqlite:///{store}")
    runs = client.search_runs([client.get_experiment_by_name("submitted").experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("automl.role") == "job"]
    trials = [r for r in runs if r.data.tags.get("automl.role") == "trial"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.params["backend"] == "ray" and parents[0].data.params["n_concurrent_trials"] == "2"
    assert len(trials) == parents[0].data.metrics["n_trials"] > 5
    assert sorted(int(r.data.tags["automl.trial_id"]) for r in trials) == list(range(len(trials)))
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parents[0].info.run_id}
    assert len({r.data.tags["automl.worker"] for r in trials}) == 2


def test_a_relative_sqlite_store_is_made_absolute_for_the_cluster(ray_head: str, tmp_path: Path) -> None:
    job = job_folder(tmp_path, time_budget=6, estimators=["lr"])
    done = submit(str(job), "--address", ray_head, "--tracking-uri", "sqlite:///local.db", "--no-wait", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"MLflow store: sqlite:///{tmp_path.resolve() / 'local.db'}" in done.stdout.replace("\n", "")
    assert "ray job logs --follow raysubmit_" in done.stdout.replace("\n", "")


def test_data_outside_the_job_folder_is_refused_before_submitting(ray_head: str, tmp_path: Path) -> None:
    job = job_folder(tmp_path, data=str(REPO / "examples" / "data" / "breast_cancer.csv"))
    done = submit(str(job), "--address", ray_head, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: data file") and "is outside the job file's folder" in done.stderr
    assert "Submitted" not in done.stdout


def test_no_job_server_at_the_address_is_one_clear_error(tmp_path: Path) -> None:
    job = job_folder(tmp_path)
    done = submit(str(job), "--address", f"http://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert done.returncode == 2 and "no Ray job server answered" in done.stderr
    assert "Traceback" not in done.stderr

