"""What a job's heartbeat costs its MLflow writer on a SQLite store, and what the new job's check for dead jobs costs.

    python -m benchmarks.heartbeat_cost --beats 500 --out benchmarks/results/heartbeat_cost.json

Figures (milliseconds, the writer's own calls on a fresh store in WAL mode, as the writer opens it):

- ``beat_ms``: one beat (``set_tag`` of ``automl.heartbeat`` on the job's run), on an idle store, and while
  another thread of the writer writes trial runs as fast as it can (a beat then waits for SQLite's write lock);
- ``writer_share_at_default_interval``: the median beat over the default interval, the writer's time spent beating;
- ``dead_job_check_ms``: ``mark_dead_jobs`` over the experiment (one search for its RUNNING jobs), with 20 finished
  jobs and the trial runs written above in it: none dead, and one dead job to end (its trial count searched too).

The search process never runs any of this: the heartbeat is a thread of the writer process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from automl.records import Trial
from automl.tracking.heartbeat import HEARTBEAT_INTERVAL_S, HEARTBEAT_TAG, INTERVAL_TAG, beat_text
from automl.tracking.liveness import mark_dead_jobs
from automl.tracking.mlflow_records import MlflowRecorder


def timed_ms(call: Callable[[], Any], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append(1000 * (time.perf_counter() - started))
    return spent


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"median": round(statistics.median(ordered), 3), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "max": round(ordered[-1], 3)}


def trial(trial_id: int) -> Trial:
    return Trial(trial_id, "lr", {"C": 1.0}, 0, status="ok", score=0.9, loss=-0.9, duration_s=0.01,
                 started_at=time.time())


def measure(beats: int, folder: Path) -> dict[str, Any]:
    recorder = MlflowRecorder(f"sqlite:///{folder / 'mlflow.db'}", "heartbeat-cost")
    recorder.open({"metric": "roc_auc"}, {})
    recorder.heartbeat.stop()  # the beats below are timed one by one instead
    beat = lambda: recorder._beat(beat_text())  # noqa: E731 - the exact write of a beat
    timed_ms(beat, 20)  # warm
    idle = timed_ms(beat, beats)

    writing, written = threading.Event(), [0]

    def write_trials() -> None:
        while not writing.is_set():
            recorder.write_trial(trial(written[0]), "random")
            written[0] += 1

    writer = threading.Thread(target=write_trials)
    writer.start()
    busy = timed_ms(lambda: (beat(), time.sleep(0.005)), beats)
    writing.set()
    writer.join()
    busy = [ms - 5.0 for ms in busy]  # without the pause between beats

    client, experiment = recorder.client, recorder.experiment_id
    for _ in range(20):
        finished = client.create_run(experiment, tags={"automl.role": "job"}).info.run_id
        client.set_terminated(finished, "FINISHED")
    client.set_terminated(recorder.run_id, "FINISHED")
    none_dead = timed_ms(lambda: mark_dead_jobs(client, [experiment]), 50)
    ago = beat_text(datetime.now(timezone.utc) - timedelta(minutes=10))

    def one_dead() -> None:
        client.create_run(experiment, tags={"automl.role": "job", HEARTBEAT_TAG: ago, INTERVAL_TAG: "5"})
        started = time.perf_counter()
        ended = mark_dead_jobs(client, [experiment])
        one_dead_ms.append(1000 * (time.perf_counter() - started))
        assert len(ended) == 1

    one_dead_ms: list[float] = []
    for _ in range(20):
        one_dead()
    return {
        "beat_ms": {"idle_store": summary(idle), "while_trial_runs_are_written": summary(busy),
                    "trial_runs_written_meanwhile": written[0]},
        "writer_share_at_default_interval": round(statistics.median(idle) / (1000 * HEARTBEAT_INTERVAL_S), 6),
        "dead_job_check_ms": {"trial_runs_in_experiment": written[0], "none_dead": summary(none_dead),
                              "one_dead_job_ended": summary(one_dead_ms)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(args.beats, Path(folder))
    record = {
        "command": " ".join([os.path.basename(sys.executable), "-m", "benchmarks.heartbeat_cost", *sys.argv[1:]]),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(), "python": platform.python_version()},
        "date": date.today().isoformat(), "beats": args.beats, **figures,
    }
    text = json.dumps(record, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
