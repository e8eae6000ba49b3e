"""Inject each fault of the reliability issue with real processes; count the trials finished, recorded and lost.

    python -m benchmarks.faults --budget 15 --out benchmarks/results/faults.json [--only NAME ...]

Each fault runs a real job in its own process (``JOB``: ``AutoML.fit`` on the bundled breast-cancer data, with a
callback that appends every finished trial's id to a file, so "finished" is known even for a job that is killed),
against a real store: a SQLite file, or a real ``mlflow server`` process that is killed with SIGKILL. Per fault:

- ``finished``: trials the search finished (the callback's file); ``recorded``: trial runs in the store under the
  job's run(s) at the end (after ``automl sync`` / ``automl resume`` where the fault needs one); ``lost``:
  finished trials of which no run is recorded; ``duplicates``: trial ids recorded twice;
- ``wall_s`` / ``wall_over_budget``: the job's ``fit`` timed around the call by the job's own process (not the
  interpreter's start); for a job that is killed, ``exit_after_signal_s`` instead;
- ``target_met``: 0 lost, no duplicates, and ``wall_s <= 1.05 x budget + 1 s``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from mlflow import MlflowClient

from tests.loopback import MlflowServer, TcpProxy, ray_trial_workers

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data" / "breast_cancer.csv"

#: The job every fault runs: argv[1] is a JSON object of its settings.
JOB = r'''
import json, sys, time
from pathlib import Path
import numpy as np, pandas as pd
from automl import AutoML

settings = json.loads(sys.argv[1])
frame = pd.read_csv(settings["data"])
X, y = frame.drop(columns="target"), frame["target"]
finished = Path(settings["finished"])
calls = []

def note(study, trial):
    with open(finished, "a") as f:
        f.write(f"{trial.trial_id}\n")

def misbehaving(X_val, y_val, estimator, labels, X_train, y_train, *args):
    """the error rate, except that the third call does what the fault asks: hang for an hour, or take memory."""
    calls.append(1)
    if len(calls) == 3 and settings.get("hang"):
        time.sleep(3600)
    if len(calls) == 3 and settings.get("hog_mb"):
        hog = np.ones(settings["hog_mb"] * 2**20 // 8)
    time.sleep(settings.get("slow", 0))
    return float((estimator.predict(X_val) != np.asarray(y_val)).mean()), {}

kwargs = dict(settings["automl"])
if settings.get("hang") or settings.get("hog_mb") or settings.get("slow"):
    kwargs["metric"] = misbehaving
started = time.monotonic()
m = AutoML(callbacks=[note], **kwargs).fit(X, y)
print(json.dumps({"wall_s": time.monotonic() - started, "run_id": m.mlflow_run_id_, "n_trials": len(m.study_.trials),
                  "journal": m.tracking_journal_}), flush=True)
'''


def as_in_a_terminal() -> None:
    """SIGINT as a terminal's foreground job has it: this script run in the background of a shell script ignores
    SIGINT, and a job it starts would inherit that (then Ctrl-C is, rightly, not an interrupt for it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class FaultResult:
    fault: str
    budget_s: float
    finished: int
    recorded: int
    lost: int
    duplicates: int
    wall_s: float | None = None
    wall_over_budget: float | None = None
    exit_after_signal_s: float | None = None
    target_met: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


class Bench:
    """One fault's folder, store and job processes."""

    def __init__(self, root: Path, name: str, budget: float) -> None:
        self.folder = root / name
        self.folder.mkdir(parents=True)
        self.name, self.budget = name, budget
        self.store = f"sqlite:///{self.folder / 'mlflow.db'}"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOML_JOURNAL_DIR": str(self.folder / "journals"),
                    "AUTOML_HEARTBEAT_INTERVAL_S": "0.5"}

    def start_job(self, tag: str = "job", tracking_uri: str | None = None, **settings: Any) -> subprocess.Popen[str]:
        automl = {"time_budget": self.budget, "estimators": ["lr", "lgbm"], "n_jobs": 1, "seed": 0,
                  "tracking_uri": tracking_uri or self.store, "experiment": self.name, **settings.pop("automl", {})}
        config = {"data": str(DATA), "finished": str(self.folder / f"{tag}.finished"), "automl": automl, **settings}
        return subprocess.Popen([sys.executable, "-c", JOB, json.dumps(config)], cwd=self.folder, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                preexec_fn=as_in_a_terminal)

    def finished(self, tag: str = "job") -> list[int]:
        path = self.folder / f"{tag}.finished"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def automl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "automl", *args], cwd=self.folder, env=self.env,
                              capture_output=True, text=True, timeout=300)


def outcome(process: subprocess.Popen[str], timeout: float = 300) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"the job failed (exit {process.returncode}): {err[-2000:]}")
    return {**json.loads(lines[-1]), "stderr": err}


def trial_ids(uri: str, experiment: str, parents: set[str] | None = None) -> list[int]:
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], "tags.`automl.role` = 'trial'", max_results=5000) if found else []
    return [int(r.data.tags["automl.trial_id"]) for r in runs
            if parents is None or r.data.tags.get("mlflow.parentRunId") in parents]


def job_runs(uri: str, experiment: str) -> list[Any]:
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], "tags.`automl.role` = 'job'", max_results=100) if found else []


def store_has_runs(path: Path, n: int) -> bool:
    """Whether the SQLite store at ``path`` holds ``n`` runs, read without MLflow (whose client would create the
    tables of a store the job's writer is still creating)."""
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("select count(*) from runs").fetchone()[0] >= n
    except sqlite3.Error:  # no table yet
        return False


def wait_until(condition: Callable[[], bool], timeout_s: float = 120, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def judged(name: str, budget: float, finished: list[int], recorded: list[int], wall_s: float | None = None,
           exit_after_signal_s: float | None = None, **notes: Any) -> FaultResult:
    counts = Counter(recorded)
    lost = len(set(finished) - set(counts))
    duplicates = sum(n - 1 for n in counts.values())
    ratio = None if wall_s is None else round(wall_s / budget, 3)
    on_time = wall_s is None or wall_s <= 1.05 * budget + 1
    return FaultResult(name, budget, len(set(finished)), len(counts), lost, duplicates,
                       None if wall_s is None else round(wall_s, 2), ratio,
                       None if exit_after_signal_s is None else round(exit_after_signal_s, 2),
                       lost == 0 and duplicates == 0 and on_time, notes)


# -- the faults ----------------------------------------------------------------------------------------------------
def server_killed(bench: Bench, comes_back: bool) -> FaultResult:
    """An ``mlflow server`` killed (SIGKILL) 1 s after the job's run appears and started again at once (the outage
    lasts its restart, ``outage_s``) in a job of twice the budget, or started only after the job ended. Trials the
    store has not got when the job ends stay in the job's journal; ``automl sync`` writes them, and ``recorded``
    counts the store after it (``recorded_at_job_end`` before)."""
    budget = 2 * bench.budget if comes_back else bench.budget
    server = MlflowServer(bench.folder / "server").start()
    try:
        job = bench.start_job(tracking_uri=server.uri, automl={"time_budget": budget})
        wait_until(lambda: bool(job_runs(server.uri, bench.name)), what="the job's run")
        time.sleep(1)
        server.kill()
        down = time.monotonic()
        if comes_back:
            server.start()
        notes: dict[str, Any] = {"outage_s": round(time.monotonic() - down, 1) if comes_back else None}
        result = outcome(job)
        if not comes_back:
            server.start()
        notes["recorded_at_job_end"] = len(set(trial_ids(server.uri, bench.name)))
        notes["journal_left"] = result["journal"] is not None
        if result["journal"] is not None:
            synced = bench.automl("sync", result["journal"])
            notes["sync"] = (synced.stdout.strip() or synced.stderr.strip()).splitlines()[-1][-200:]
        recorded = trial_ids(server.uri, bench.name)
        return judged(bench.name, budget, bench.finished(), recorded, result["wall_s"], **notes)
    finally:
        server.kill()


def server_unreachable(bench: Bench, seconds: float = 5.0) -> FaultResult:
    """The server cut off the network for ``seconds`` (a proxy refuses and resets every connection), 1 s after the
    job's run appears; trials take a third of a second (``slow: 0.33``), below an HTTP store's writing pace."""
    server = MlflowServer(bench.folder / "server").start()
    proxy = TcpProxy(server.port)
    try:
        job = bench.start_job(tracking_uri=proxy.uri, slow=0.33, automl={"estimators": ["lr"], "eval_method": "holdout"})
        wait_until(lambda: bool(job_runs(server.uri, bench.name)), what="the job's run")
        time.sleep(1)
        proxy.cut()
        time.sleep(seconds)
        proxy.restore()
        result = outcome(job)
        notes: dict[str, Any] = {"outage_s": seconds, "journal_left": result["journal"] is not None,
                                 "job_status": job_runs(server.uri, bench.name)[0].info.status}
        return judged(bench.name, bench.budget, bench.finished(), trial_ids(server.uri, bench.name), result["wall_s"],
                      **notes)
    finally:
        proxy.close()
        server.kill()


def misbehaving_trial(bench: Bench, **fault: Any) -> FaultResult:
    result = outcome(bench.start_job(automl={"estimators": ["lr"], "eval_method": "holdout",
                                             **fault.pop("automl", {})}, **fault))
    client = MlflowClient(bench.store)
    errors = [r.data.tags.get("automl.error", "")[:160] for r in client.search_runs(
        [client.get_experiment_by_name(bench.name).experiment_id], "tags.`automl.status` = 'failed'")]
    return judged(bench.name, bench.budget, bench.finished(), trial_ids(bench.store, bench.name), result["wall_s"],
                  failed_trials=errors)


def two_jobs_one_store(bench: Bench) -> FaultResult:
    first, second = bench.start_job("first"), bench.start_job("second")
    results = [outcome(first), outcome(second)]
    finished = [("first", t) for t in bench.finished("first")] + [("second", t) for t in bench.finished("second")]
    recorded = [(tag, t) for tag, result in zip(("first", "second"), results)
                for t in trial_ids(bench.store, bench.name, {result["run_id"]})]
    wall = max(r["wall_s"] for r in results)
    return judged(bench.name, bench.budget, finished, recorded, wall,  # type: ignore[arg-type]
                  per_job_trials=[r["n_trials"] for r in results])


def many_ray_trials(bench: Bench) -> FaultResult:
    """Eight trials at once on the local Ray the job starts (a quarter of a CPU each on 2 cores; logistic regression
    on holdout, tens of milliseconds a trial): results arrive in bursts, and each must be recorded once."""
    budget = 3 * bench.budget  # eight workers' start (each imports automl) takes about 15 s of 2 cores
    result = outcome(bench.start_job(automl={"backend": "ray", "n_concurrent_trials": 8, "estimators": ["lr"],
                                             "resources_per_trial": {"cpu": 0.25}, "eval_method": "holdout",
                                             "time_budget": budget}))
    return judged(bench.name, budget, bench.finished(), trial_ids(bench.store, bench.name), result["wall_s"],
                  trials=result["n_trials"])


def killed_then_resumed(bench: Bench, sig: int) -> FaultResult:
    """The job's whole process group gets ``sig`` once the store has 20 of its trials, mid-job (SIGKILL: then a job
    with ``resume_from`` continues it; SIGINT: Ctrl-C, which must end it within seconds). After a SIGKILL of
    everything, what the writer had not written yet is in the job's journal, which `automl jobs` writes when it
    finds the job dead."""
    job = bench.start_job(automl={"time_budget": 300})
    wait_until(lambda: store_has_runs(bench.folder / "mlflow.db", 21), what="the job's run and 20 recorded trials")
    signalled = time.monotonic()
    os.killpg(job.pid, sig)
    job.communicate(timeout=120)
    exit_after = time.monotonic() - signalled
    time.sleep(0.5)  # a trial run sent just before the kill reaches the store
    finished = bench.finished()
    (run,) = job_runs(bench.store, bench.name)
    notes: dict[str, Any] = {"status_after_signal": MlflowClient(bench.store).get_run(run.info.run_id).info.status}
    if sig == signal.SIGKILL:
        time.sleep(12 * 0.5 + 1)  # twelve heartbeat intervals: the job is dead
        listed = bench.automl("jobs", "--tracking-uri", bench.store)
        notes["status_after_automl_jobs"] = MlflowClient(bench.store).get_run(run.info.run_id).info.status
        notes["jobs_listing_says_killed"] = "KILLED" in listed.stdout
        resumed = outcome(bench.start_job("resumed", automl={"time_budget": 8, "resume_from": run.info.run_id}))
        client = MlflowClient(bench.store)
        later = client.search_runs([run.info.experiment_id], f"tags.`mlflow.parentRunId` = '{resumed['run_id']}'",
                                   max_results=5000)
        notes["resumed_run_trials"] = len(later)
        notes["resumed_run_replayed"] = sum(r.data.tags.get("automl.replayed") == "true" for r in later)
    recorded = trial_ids(bench.store, bench.name, {run.info.run_id})
    return judged(bench.name, bench.budget, finished, recorded, exit_after_signal_s=exit_after, **notes)


def ray_driver_killed(bench: Bench) -> FaultResult:
    """SIGKILL of a job on the local Ray it started (driver, writer and all): its trials recorded so far stay, and
    no Ray trial worker outlives it by more than a minute (``workers_gone_after_s``)."""
    job = bench.start_job(automl={"time_budget": 300, "backend": "ray", "n_concurrent_trials": 2})
    wait_until(lambda: store_has_runs(bench.folder / "mlflow.db", 5), what="the job's run and 4 recorded trials")
    signalled = time.monotonic()
    os.killpg(job.pid, signal.SIGKILL)
    job.communicate(timeout=120)
    exit_after = time.monotonic() - signalled
    wait_until(lambda: not ray_trial_workers(), timeout_s=60, what="the job's Ray workers to end")
    gone_after = time.monotonic() - signalled
    time.sleep(12 * 0.5 + 1)
    bench.automl("jobs", "--tracking-uri", bench.store)
    (run,) = job_runs(bench.store, bench.name)
    return judged(bench.name, bench.budget, bench.finished(), trial_ids(bench.store, bench.name, {run.info.run_id}),
                  exit_after_signal_s=exit_after, workers_gone_after_s=round(gone_after, 1),
                  status_after_automl_jobs=MlflowClient(bench.store).get_run(run.info.run_id).info.status)


FAULTS: dict[str, Callable[[Bench], FaultResult]] = {
    "mlflow_server_unreachable_for_5s": server_unreachable,
    "mlflow_server_killed_and_restarted": lambda b: server_killed(b, True),
    "mlflow_server_killed_back_after_the_job_then_sync": lambda b: server_killed(b, False),
    "trial_hangs_for_an_hour": lambda b: misbehaving_trial(b, hang=True),
    "trial_over_memory_limit": lambda b: misbehaving_trial(b, hog_mb=4096, automl={"memory_limit_mb": 1500}),
    "two_jobs_on_one_sqlite_store": two_jobs_one_store,
    "sigkill_of_the_process_group_then_resume": lambda b: killed_then_resumed(b, signal.SIGKILL),
    "ctrl_c": lambda b: killed_then_resumed(b, signal.SIGINT),
    "sigkill_of_a_job_on_its_local_ray": ray_driver_killed,
    "eight_concurrent_ray_trials": many_ray_trials,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=15.0)
    parser.add_argument("--only", nargs="*", choices=sorted(FAULTS))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="automl-faults-") as root:
        for name in args.only or FAULTS:
            started, load = time.monotonic(), round(os.getloadavg()[0], 2)
            try:
                result = FAULTS[name](Bench(Path(root), name, args.budget))
            except Exception as exc:  # noqa: BLE001 - a fault the product did not survive is a result too
                result = FaultResult(name, args.budget, 0, 0, 0, 0, notes={"error": f"{type(exc).__name__}: {exc}"})
            result.notes["load_1m_at_start"] = load
            print(json.dumps(asdict(result)), f"({time.monotonic() - started:.0f} s)", flush=True)
            results.append(asdict(result))
    record = {
        "command": " ".join([os.path.basename(sys.executable), "-m", "benchmarks.faults", *sys.argv[1:]]),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                    "python": platform.python_version()},
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "target": "0 lost, 0 duplicates, wall_s <= 1.05 x budget + 1 s",
        "faults": results,
        "all_met": all(r["target_met"] for r in results),
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{sum(r['target_met'] for r in results)} of {len(results)} faults met the target")


if __name__ == "__main__":
    main()
