"""A job that died with its MLflow writer (its whole process group killed) is not RUNNING forever: its heartbeat
stops, and `automl jobs`, `automl resume` and the next job on the store end its run as KILLED, with the reason."""

from __future__ import annotations

import io
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from mlflow import MlflowClient
from rich.console import Console
from sklearn.datasets import load_breast_cancer

from automl import AutoML, InputError
from automl.cli.jobs_command import run_jobs
from automl.tracking.heartbeat import HEARTBEAT_INTERVAL_S, HEARTBEAT_TAG, INTERVAL_ENV, INTERVAL_TAG, STALE_AFTER_BEATS
from automl.tracking.heartbeat import beat_text, parse_beat
from automl.tracking.journal import read_journal
from automl.tracking.liveness import END_REASON_TAG
from automl.tracking.writer import INTERRUPT_GRACE_S
from tests.loopback import MlflowServer
from tests.test_interrupted_jobs import ignoring_ctrl_c, new_store, runs, start_job, wait_for

DIED = "; the process that ran the job died"


def automl(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "automl", *args], capture_output=True, text=True, timeout=timeout,
                          env=None if env is None else {**os.environ, **env})


def job_line(output: str, run_id: str) -> list[str]:
    """The columns of ``run_id``'s line in `automl jobs`' table."""
    lines = [line for line in output.splitlines() if line.startswith(run_id)]
    assert len(lines) == 1, output
    return lines[0].split()


def last_beat(client: MlflowClient, run_id: str) -> datetime:
    beat = parse_beat(client.get_run(run_id).data.tags.get(HEARTBEAT_TAG))
    assert beat is not None
    return beat


def wait_until_stale(client: MlflowClient, run_id: str, interval_s: float) -> datetime:
    """The last beat of a job whose writer is gone, once it is older than the staleness threshold."""
    beat = last_beat(client, run_id)
    stale_at = beat + timedelta(seconds=STALE_AFTER_BEATS * interval_s + 1)
    time.sleep(max(0.0, (stale_at - datetime.now(timezone.utc)).total_seconds()))
    return beat


#: The heartbeat interval of the tests' jobs: a job is stale after 12 missed beats, 4 s here (60 s by default).
FAST_BEAT_S = 0.25


def the_job(client: MlflowClient) -> str:
    return wait_for(lambda: len(runs(client)[1]) >= 3 and runs(client)[0])[0].info.run_id


def test_a_job_killed_with_its_writer_is_running_until_its_beat_is_stale_then_resume_ends_it_and_goes_on(
        tmp_path: Path, journal_folder: Path) -> None:
    """One real job: while it beats it is listed RUNNING and not resumed twice; killed with its writer (the whole
    process group), nobody ends its run, until its heartbeat is stale: then `automl resume` marks it KILLED, with
    the reason, and goes on from its trials."""
    store, client = new_store(tmp_path)
    job = start_job(tmp_path, store, env={INTERVAL_ENV: str(FAST_BEAT_S)})
    try:
        run_id = the_job(client)
        first = last_beat(client, run_id)
        wait_for(lambda: last_beat(client, run_id) > first, seconds=10)  # the writer refreshes the beat
        listed = automl("jobs", "--tracking-uri", store)
        refused = automl("resume", run_id, "--tracking-uri", store, "--quiet")
        assert job.poll() is None
        os.killpg(job.pid, signal.SIGKILL)  # the search process and its writer at once: nobody is left to end the run
        job.wait(timeout=30)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert listed.returncode == 0, listed.stderr[-2000:]
    columns = job_line(listed.stdout, run_id)
    assert "RUNNING" in columns and columns[-1] == "ago" and int(columns[-2].rstrip("s")) < STALE_AFTER_BEATS
    assert "Marked" not in listed.stdout
    assert refused.returncode != 0
    assert f"run {run_id!r} is still running: its last heartbeat was" in refused.stderr.replace("\n", " ")
    assert client.get_run(run_id).data.tags[INTERVAL_TAG] == f"{FAST_BEAT_S:g}"
    time.sleep(2)
    assert client.get_run(run_id).info.status == "RUNNING"

    beat = wait_until_stale(client, run_id, FAST_BEAT_S)
    in_store = len(runs(client)[1])
    (journal,) = journal_folder.glob("*.journal")  # the killed writer's, with what it had not written yet
    left = read_journal(journal)
    sent = sum(pickle.loads(frame)[0] == "write_trial" for _, frame in left.messages)
    resumed = automl("resume", run_id, "--tracking-uri", store, "--max-trials", str(sent + 2), "--time-budget", "60",
                     "--quiet")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    run = client.get_run(run_id)
    reason = run.data.tags[END_REASON_TAG]
    assert reason.startswith(f"no heartbeat since {beat:%Y-%m-%d %H:%M:%S} UTC{DIED}"), reason
    assert sent >= in_store and (reason.endswith(DIED) or reason.endswith("were written from its journal")), reason
    assert f"The previous attempt (run {run_id}) died: {reason}. Marked it KILLED. Resuming it." in resumed.stdout
    done = [t for t in runs(client)[1] if t.data.tags["mlflow.parentRunId"] == run_id]
    assert sorted(int(t.data.tags["automl.trial_id"]) for t in done) == list(range(sent))  # none lost, none twice
    assert run.info.status == "KILLED" and run.info.end_time == int(beat.timestamp() * 1000)
    assert run.data.metrics["n_trials"] == sent and not journal.exists()
    done = len(done)
    new = [p for p in runs(client)[0] if p.data.tags.get("automl.resumed_from") == run_id]
    assert len(new) == 1 and new[0].info.status == "FINISHED"
    children = [t for t in runs(client)[1] if t.data.tags["mlflow.parentRunId"] == new[0].info.run_id]
    assert len(children) == done + 2 and sum(t.data.tags.get("automl.replayed") == "true" for t in children) == done


def test_automl_jobs_shows_a_dead_job_killed_ends_its_run_and_says_how_to_resume_it(tmp_path: Path) -> None:
    """The listing reads only the store: a job run whose beats stopped 20 s ago (at 1 s each), with its trial runs."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store)
    experiment = client.create_experiment("interrupted")
    ago = datetime.now(timezone.utc) - timedelta(seconds=20)
    run_id = client.create_run(experiment, run_name="interrupted", tags={
        "automl.role": "job", HEARTBEAT_TAG: beat_text(ago), INTERVAL_TAG: "1"}).info.run_id
    for trial in range(3):
        client.create_run(experiment, tags={"automl.role": "trial", "mlflow.parentRunId": run_id,
                                            "automl.trial_id": str(trial)})
    listed = automl("jobs", "--tracking-uri", store, "--experiment", "interrupted")
    assert listed.returncode == 0, listed.stderr[-2000:]
    columns = job_line(listed.stdout, run_id)
    assert columns[1:3] == ["interrupted", "interrupted"] and "KILLED" in columns and columns[-1] == "ago"
    assert "3" in columns
    reason = f"no heartbeat since {ago:%Y-%m-%d %H:%M:%S} UTC{DIED}"
    assert f"Marked {run_id} KILLED: {reason}. Resume it: automl resume {run_id}" in listed.stdout
    run = client.get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags[END_REASON_TAG] == reason
    assert run.info.end_time == int(parse_beat(beat_text(ago)).timestamp() * 1000) and run.data.metrics["n_trials"] == 3


def test_a_new_job_ends_the_dead_jobs_of_its_experiment_only(tmp_path: Path) -> None:
    """Runs as dead and live jobs leave them; each is judged by its own recorded interval."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store)
    here, elsewhere = client.create_experiment("here"), client.create_experiment("elsewhere")
    ago = datetime.now(timezone.utc) - timedelta(seconds=20)

    def job_run(experiment_id: str, **tags: str) -> str:
        return client.create_run(experiment_id, tags={"automl.role": "job", **tags}).info.run_id

    dead = job_run(here, **{HEARTBEAT_TAG: beat_text(ago), INTERVAL_TAG: "1"})  # 20 beats missed
    slow = job_run(here, **{HEARTBEAT_TAG: beat_text(ago), INTERVAL_TAG: "5"})  # 4 beats missed: alive
    old_automl = job_run(here)  # no heartbeat at all: never judged
    other = job_run(elsewhere, **{HEARTBEAT_TAG: beat_text(ago), INTERVAL_TAG: "1"})

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    m = AutoML(time_budget=None, max_trials=1, estimators=["lr"], n_jobs=1, tracking_uri=store, experiment="here").fit(X, y)

    ended = client.get_run(dead)
    assert ended.info.status == "KILLED" and ended.info.end_time == int(parse_beat(beat_text(ago)).timestamp() * 1000)
    assert ended.data.tags[END_REASON_TAG] == f"no heartbeat since {ago:%Y-%m-%d %H:%M:%S} UTC{DIED}"
    assert ended.data.metrics["n_trials"] == 0
    assert [client.get_run(r).info.status for r in (slow, old_automl, other)] == ["RUNNING"] * 3
    new = client.get_run(m.mlflow_run_id_)
    assert new.info.status == "FINISHED" and END_REASON_TAG not in new.data.tags
    assert new.data.tags[INTERVAL_TAG] == f"{HEARTBEAT_INTERVAL_S:g}"  # what users get, no environment variable set
    assert parse_beat(new.data.tags[HEARTBEAT_TAG]) >= datetime.fromtimestamp(new.info.start_time / 1000, timezone.utc)


def test_a_job_ended_as_dead_while_stopped_is_alive_again_when_it_beats(tmp_path: Path) -> None:
    """A stopped process (a suspended laptop, SIGSTOP) looks dead; when it goes on, its run is RUNNING again. The
    job runs as a background job of a script does, SIGINT ignored from its start, and is sent one first: neither it
    nor its writer takes it for a Ctrl-C (before, the writer terminated such a job 10 s later: the CI flake of issue
    15 point 7), so it runs to the end of its budget."""
    store, client = new_store(tmp_path)
    job = start_job(tmp_path, store, env={INTERVAL_ENV: str(FAST_BEAT_S)}, ctrl_c=ignoring_ctrl_c,
                    time_budget=INTERRUPT_GRACE_S + 12)  # outlasts the watch's grace, the stop and the listing
    try:
        run_id = the_job(client)
        os.killpg(job.pid, signal.SIGINT)
        os.killpg(job.pid, signal.SIGSTOP)
        wait_until_stale(client, run_id, FAST_BEAT_S)
        listed = automl("jobs", "--tracking-uri", store, "--experiment", "interrupted")
        marked = client.get_run(run_id)
        os.killpg(job.pid, signal.SIGCONT)
        revived = wait_for(lambda: (r := client.get_run(run_id)).info.status == "RUNNING" and r, seconds=15)
        assert job.wait(timeout=180) == 0
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert "KILLED" in job_line(listed.stdout, run_id)
    assert marked.info.status == "KILLED" and marked.data.tags[END_REASON_TAG].startswith("no heartbeat since")
    assert END_REASON_TAG not in revived.data.tags
    final = client.get_run(run_id)
    assert final.info.status == "FINISHED" and END_REASON_TAG not in final.data.tags
    assert final.data.metrics["n_trials"] == len(runs(client)[1])


def test_automl_jobs_lists_every_experiment_and_says_when_there_is_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    missing = automl("jobs", "--tracking-uri", store)
    assert missing.returncode != 0 and f"there is no MLflow store at {store}" in missing.stderr.replace("\n", "")
    assert not (tmp_path / "mlflow.db").exists()
    client = MlflowClient(store)
    client.create_experiment("empty")
    said = io.StringIO()
    assert run_jobs(store, None, 20, Console(file=said, width=300)) == [] and "No jobs in" in said.getvalue()
    with pytest.raises(InputError, match="experiment 'nope' is not in"):
        run_jobs(store, "nope", 20, Console(file=said))


#: A job on an HTTP store, slower than its trials (about 0.1 s a trial run against 20 ms a trial): the writer is
#: always behind. argv: store, the file of the finished trial ids (written by the search process, as they end).
BEHIND_JOB = """
import sys, time
from sklearn.datasets import load_breast_cancer
from automl import AutoML, InputError
from automl.cli.jobs_command import run_jobs

def note(study, trial):
    with open(sys.argv[2], "a") as f:
        f.write(f"{trial.trial_id} {time.monotonic()}\\n")

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
AutoML(estimators=["lr"], eval_method="holdout", strategy="random", time_budget=300, n_jobs=1, callbacks=[note],
       tracking_uri=sys.argv[1], experiment="behind").fit(X, y)
"""


def test_a_job_killed_with_its_writer_behind_loses_no_trial_automl_jobs_writes_them_from_its_journal(
        mlflow_server: MlflowServer, tmp_path: Path, journal_folder: Path) -> None:
    """kill -9 of the whole process group (the OOM killer, a container stop) while the writer has trial runs queued:
    its journal keeps them. The next job of the experiment ends the dead job KILLED and leaves the journal (its own
    writer has its own job to write); `automl jobs` then writes every trial from it and says how many. The promise
    covers what reached the writer: a trial that ended in the last half second before the kill may still have been
    in the search process's pipe, and the trial ending at the kill may be recorded though the callback never ran."""
    client, finished = MlflowClient(mlflow_server.uri), tmp_path / "finished"
    job = subprocess.Popen([sys.executable, "-c", BEHIND_JOB, mlflow_server.uri, str(finished)], start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, INTERVAL_ENV: str(FAST_BEAT_S)})

    def recorded() -> list:
        experiment = client.get_experiment_by_name("behind")
        return [] if experiment is None else client.search_runs([experiment.experiment_id], max_results=10_000)

    def finished_at() -> dict[int, float]:
        lines = finished.read_text().splitlines() if finished.exists() else []
        return {int(trial): float(at) for trial, at in (line.split() for line in lines)}

    try:
        wait_for(lambda: len(recorded()) >= 4 and len(finished_at()) >= len(recorded()) + 10)  # 10 trials behind
        os.killpg(job.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        job.wait(timeout=30)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    ended, before = finished_at(), recorded()
    (parent,) = [r for r in before if r.data.tags.get("automl.role") == "job"]
    assert len(before) - 1 < len(ended) - 5, "the writer was not behind when the job was killed"
    wait_until_stale(client, parent.info.run_id, FAST_BEAT_S)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    AutoML(time_budget=None, max_trials=1, estimators=["lr"], n_jobs=1, tracking_uri=mlflow_server.uri,
           experiment="behind").fit(X, y)
    marked = client.get_run(parent.info.run_id)
    assert marked.info.status == "KILLED" and marked.data.tags[END_REASON_TAG].endswith(DIED)
    assert len(list(journal_folder.glob("*.journal"))) == 1  # the killed job's, left for `automl jobs`
    listed = automl("jobs", "--tracking-uri", mlflow_server.uri, "--experiment", "behind")
    assert listed.returncode == 0, listed.stderr[-2000:]
    trials = [int(r.data.tags["automl.trial_id"]) for r in recorded() if r.data.tags.get("automl.role") == "trial"
              and r.data.tags["mlflow.parentRunId"] == parent.info.run_id]
    assert {t for t, at in ended.items() if at < killed_at - 0.5} <= set(trials)  # none lost
    # None made up, none twice. A trial is recorded before the callbacks hear of it, so the kill may fall between the
    # two for the one trial that was ending (n_jobs=1): it ran, though `note` never wrote it.
    assert set(trials) - set(ended) <= {max(ended) + 1} and len(trials) == len(set(trials))
    run = client.get_run(parent.info.run_id)
    assert run.info.status == "KILLED" and run.data.metrics["n_trials"] == len(trials)
    written = re.search(r"; (\d+) trial run\(s\) it had not written were written from its journal$",
                        run.data.tags[END_REASON_TAG])
    assert written and int(written.group(1)) >= 5, run.data.tags[END_REASON_TAG]
    assert f"Marked {parent.info.run_id} KILLED: {run.data.tags[END_REASON_TAG]}." in listed.stdout
    assert not list(journal_folder.iterdir())
