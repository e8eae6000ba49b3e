"""A tuning job whose process is killed or interrupted keeps its finished trials, and its MLflow run says how it ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from mlflow import MlflowClient

from automl.tracking.writer import INTERRUPT_GRACE_S
from tests.job_files import job_folder

#: A job whose fourth trial's metric runs C code that holds the interpreter lock for minutes:
#: Python's own Ctrl-C handler never gets to run there.
STUCK_JOB = """
import sys
from pathlib import Path
from sklearn.datasets import load_breast_cancer
from automl import AutoML

calls = []

def stuck_in_native_code(X_val, y_val, estimator, labels, X_train, y_train, *args):
    calls.append(1)
    if len(calls) == 4:
        Path(sys.argv[2]).touch()
        sum(range(10 ** 12))  # C code that holds the interpreter lock and never checks for signals
    return float(len(calls)), {}

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
AutoML(metric=stuck_in_native_code, estimators=["lr"], eval_method="holdout", time_budget=300, n_jobs=1,
       tracking_uri=sys.argv[1], experiment="interrupted").fit(X, y)
"""


def as_in_a_terminal() -> None:
    """SIGINT as a terminal's foreground job has it (the default action), whatever the test runner inherited: run
    in the background of a script (`cmd &`), the runner ignores SIGINT, and so would every job it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ignoring_ctrl_c() -> None:
    """SIGINT ignored from the start, as a background job of a script or `nohup`-like tools run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_job(tmp_path: Path, store: str, env: dict[str, str] | None = None, ctrl_c: Callable[[], None] = as_in_a_terminal,
              **fields: object) -> subprocess.Popen[bytes]:
    """`automl tune` in a process group of its own (its MLflow writer included); ``fields`` override the job's."""
    job = job_folder(tmp_path, **{"n_concurrent_trials": 1, "experiment": "interrupted", "time_budget": 300,
                                  "max_trials": 10_000, "strategy": "random", "early_stop": None, **fields})
    return subprocess.Popen([sys.executable, "-m", "automl", "tune", str(job), "--tracking-uri", store],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=None if env is None else {**os.environ, **env}, preexec_fn=ctrl_c)


def new_store(tmp_path: Path) -> tuple[str, MlflowClient]:
    """A SQLite store whose tables exist before a job starts: the test's client creating them while the job's writer
    did raced it (MLflow's schema creation is not safe twice at once; the job then ran untracked and the test timed
    out waiting for its runs)."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store)
    client.search_experiments()
    return store, client


def runs(client: MlflowClient) -> tuple[list, list]:
    experiment = client.get_experiment_by_name("interrupted")
    found = [] if experiment is None else client.search_runs([experiment.experiment_id], max_results=10_000)
    return ([r for r in found if r.data.tags.get("automl.role") == "job"],
            [r for r in found if r.data.tags.get("automl.role") == "trial"])


def wait_for(condition, seconds: float = 120):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_ctrl_c_ends_the_job_itself_and_its_finished_trials_survive(tmp_path: Path) -> None:
    store, client = new_store(tmp_path)
    job = start_job(tmp_path, store)
    try:
        wait_for(lambda: len(runs(client)[1]) >= 3)
        os.killpg(job.pid, signal.SIGINT)  # the whole process group, as a terminal does
        job.wait(timeout=INTERRUPT_GRACE_S + 15)  # the job ends itself in about a second
        parent = wait_for(lambda: [p for p in runs(client)[0] if p.info.status != "RUNNING"])[0]
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert_trials_survived(runs(client)[1])
    assert parent.info.status == "FAILED"
    assert parent.data.tags["automl.end_reason"].startswith("interrupted (Ctrl-C)")
    assert "did not stop within" not in parent.data.tags["automl.end_reason"]  # the job, not its writer, ended it


def assert_trials_survived(trials: list) -> None:
    assert len(trials) >= 3 and {t.info.status for t in trials} <= {"FINISHED", "FAILED", "KILLED"}
    assert sorted(int(t.data.tags["automl.trial_id"]) for t in trials) == list(range(len(trials)))


def test_a_killed_search_process_s_writer_ends_the_run_and_automl_resume_continues_the_job(tmp_path: Path) -> None:
    """SIGKILL of the search process only: its MLflow writer sees its input end, records the trials it received and
    ends the job's run KILLED, with the reason; `automl resume` then replays them and goes on."""
    store, client = new_store(tmp_path)
    job = start_job(tmp_path, store)
    try:
        wait_for(lambda: len(runs(client)[1]) >= 3)
        job.kill()
        job.wait(timeout=60)
        killed = wait_for(lambda: [p for p in runs(client)[0] if p.info.status == "KILLED"])[0]
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    trials = runs(client)[1]
    assert_trials_survived(trials)
    assert "ended without finishing the job" in killed.data.tags["automl.end_reason"]
    assert killed.data.metrics["n_trials"] == len(trials)
    done = len(trials)
    command = [sys.executable, "-m", "automl", "resume", killed.info.run_id, "--tracking-uri", store,
               "--max-trials", str(done + 2), "--time-budget", "60", "--quiet"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr[-2000:]
    resumed = [p for p in runs(client)[0] if p.data.tags.get("automl.resumed_from") == killed.info.run_id]
    assert len(resumed) == 1 and resumed[0].info.status == "FINISHED"
    children = client.search_runs([resumed[0].info.experiment_id], f"tags.mlflow.parentRunId = '{resumed[0].info.run_id}'")
    assert sorted(int(c.data.tags["automl.trial_id"]) for c in children) == list(range(done + 2))
    assert sum(c.data.tags.get("automl.replayed") == "true" for c in children) == done


def test_resume_needs_a_run_started_from_a_job_file(tmp_path: Path) -> None:
    from automl import AutoML
    from sklearn.datasets import load_breast_cancer

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    m = AutoML(time_budget=None, max_trials=1, tracking_uri=store, n_jobs=1).fit(X, y)
    finished = subprocess.run([sys.executable, "-m", "automl", "resume", m.mlflow_run_id_, "--tracking-uri", store],
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode != 0
    assert f"was not started from a job file (no tag automl.job_file); resume it with `automl tune JOB.yaml --resume-from {m.mlflow_run_id_}`" in finished.stderr.replace("\n", " ")


def test_ctrl_c_ends_a_job_stuck_in_native_code(tmp_path: Path) -> None:
    store, client = new_store(tmp_path)
    script = tmp_path / "stuck.py"
    script.write_text(STUCK_JOB)
    stuck = tmp_path / "stuck"
    job = subprocess.Popen([sys.executable, str(script), store, str(stuck)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, start_new_session=True, preexec_fn=as_in_a_terminal)
    try:
        wait_for(lambda: stuck.exists() and len(runs(client)[1]) >= 3)
        interrupted = time.monotonic()
        os.killpg(job.pid, signal.SIGINT)
        job.wait(timeout=INTERRUPT_GRACE_S + 15)
        took = time.monotonic() - interrupted
        parent = wait_for(lambda: [p for p in runs(client)[0] if p.info.status != "RUNNING"])[0]
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert INTERRUPT_GRACE_S <= took <= INTERRUPT_GRACE_S + 10
    assert job.returncode == -signal.SIGTERM
    assert "did not stop within" in job.stderr.read().decode()
    assert parent.info.status == "FAILED"
    assert parent.data.tags["automl.end_reason"].startswith("interrupted (Ctrl-C): the search process did not stop")
    trials = runs(client)[1]
    assert sorted(int(t.data.tags["automl.trial_id"]) for t in trials) == [0, 1, 2]
