"""The Ray backend against in-process, through ``AutoML.fit``, in one run.

    python -m benchmarks.ray_backend --out benchmarks/results/ray_backend.json

Four figures:

- throughput: CPU-bound single-thread trials (random forests of 20-40 trees
  with at most 512 leaves on 6,000 x 20 synthetic rows, holdout, random search,
  no early stopping) for ``--budget`` seconds with 1 and with 2 concurrent Ray
  trials of 1 CPU each; trials finished per minute after the first result
  (target: 2 concurrent >= 1.7 x 1 concurrent on 2 cores);
- per-trial overhead on a near-trivial objective (logistic regression on 60
  rows), ``--trials`` trials, in-process (1 thread) and on one Ray worker:
  wall time per trial between the first and the last result;
- time to the first trial result from the start of ``fit``: in-process, and on
  a Ray instance the job starts itself (what a user meets the first time);
- the ensemble's refits: a ``--budget`` second job (forests, extra trees and
  LightGBM on 8,000 x 20 synthetic rows, ``ensemble=True``, 2 concurrent
  trials of 1 CPU) refits its members side by side on the two workers; the
  refit phase's wall time against the same members refitted one after another
  in this process with 2 threads (how the job refitted them before), and
  against the refits' own seconds on the workers added up.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import make_classification

from automl import AutoML

FOREST_SPACE = {"rf": {"n_estimators": {"low": 20, "high": 40, "default": 30, "low_cost": 20},
                       "max_leaves": {"low": 64, "high": 512, "default": 256, "low_cost": 64}}}


def timed_fit(X: pd.DataFrame, y: pd.Series, **params: Any) -> dict[str, Any]:
    """Fit with ``params``; wall times of every trial result, relative to the start of ``fit``."""
    ends: list[float] = []
    started = time.monotonic()
    m = AutoML(tracking=False, seed=0, strategy="random", early_stop=None, eval_method="holdout",
               callbacks=[lambda study, trial: ends.append(time.monotonic() - started)], **params)
    m.fit(X, y)
    total = time.monotonic() - started
    window = ends[-1] - ends[0] if len(ends) > 1 else float("nan")
    return {
        "trials": len(ends), "ok": m.study_.count("ok"), "fit_wall_s": round(total, 3),
        "first_result_s": round(ends[0], 3) if ends else None,
        "per_trial_ms": round(1000 * window / (len(ends) - 1), 3) if len(ends) > 1 else None,
        "trials_per_minute": round(60 * (len(ends) - 1) / window, 2) if len(ends) > 1 else None,
        "workers": len({t.worker for t in m.study_.trials}),
    }


def throughput(budget: float) -> dict[str, Any]:
    X, y = make_classification(n_samples=6000, n_features=20, random_state=0)
    X, y = pd.DataFrame(X).add_prefix("x"), pd.Series(y)
    runs = {}
    for concurrent in (1, 2):
        runs[f"ray_{concurrent}_concurrent"] = timed_fit(
            X, y, estimators=["rf"], search_space=FOREST_SPACE, time_budget=budget, backend="ray",
            n_concurrent_trials=concurrent, resources_per_trial={"cpu": 1},
        )
        print(concurrent, runs[f"ray_{concurrent}_concurrent"], flush=True)
    one, two = (runs[f"ray_{c}_concurrent"]["trials_per_minute"] for c in (1, 2))
    runs["speedup_2_over_1"] = round(two / one, 3)
    return runs


def overhead(trials: int) -> dict[str, Any]:
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    X, y = pd.DataFrame(X).add_prefix("x"), pd.Series(y)
    common = {"estimators": ["lr"], "time_budget": None, "max_trials": trials}
    runs = {"inprocess": timed_fit(X, y, n_jobs=1, **common)}
    print("inprocess", runs["inprocess"], flush=True)
    runs["ray_1_worker"] = timed_fit(X, y, backend="ray", resources_per_trial={"cpu": 1}, **common)
    print("ray", runs["ray_1_worker"], flush=True)
    runs["ray_over_inprocess_per_trial_ms"] = round(runs["ray_1_worker"]["per_trial_ms"] - runs["inprocess"]["per_trial_ms"], 3)
    return runs


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def refit_in_turn(X: pd.DataFrame, y: pd.Series, trials: list[Any]) -> float:
    """Seconds to refit ``trials`` on all rows one after another in this process with 2 threads (the job's problem
    rebuilt: the same transform and rows)."""
    from automl.problem import build_problem
    from automl.task import TaskSpec

    problem = build_problem(TaskSpec("classification"), X, y, sorted({t.estimator for t in trials}), None, None, 0)
    objective = problem.objective(n_jobs=2)
    started = time.monotonic()
    for trial in trials:
        objective.fit_all_rows(trial, None)
    return time.monotonic() - started


def refit_phase(budget: float) -> dict[str, Any]:
    X, y = make_classification(n_samples=8000, n_features=20, n_informative=8, random_state=0)
    X, y = pd.DataFrame(X).add_prefix("x"), pd.Series(y)
    lines = _Lines()
    source = logging.getLogger("automl.backends.ray_backend")
    source.addHandler(lines)
    level = source.level
    source.setLevel(logging.INFO)
    try:
        m = AutoML(tracking=False, seed=0, time_budget=budget, estimators=["rf", "extra_trees", "lgbm"], ensemble=True,
                   backend="ray", n_concurrent_trials=2, resources_per_trial={"cpu": 1}).fit(X, y)
    finally:
        source.removeHandler(lines)
        source.setLevel(level)
    refitted = next((line for line in lines.lines if line.startswith("Refitted")), None)
    run = {"refit": m.refit_, "members": [(e["trial_id"], e["estimator"]) for e in m.ensemble_ or []],
           "refit_phase_s": round(m.time_spent_["refit_s"], 3), "total_s": round(m.time_spent_["total_s"], 3),
           "log": refitted}
    if refitted is not None:  # "... in W s, side by side on Ray workers [...] (B s of refits)."
        wall = float(refitted.split(" in ")[1].split("s,")[0])
        busy = float(refitted.rsplit("(", 1)[1].split("s of")[0])
        run.update(members_wall_s=wall, members_refit_s_summed=busy, summed_over_wall=round(busy / wall, 3))
        run["in_turn_here_2_threads_s"] = round(refit_in_turn(X, y, [m.study_.trials[t] for t, _ in run["members"]]), 3)
        run["in_turn_over_side_by_side"] = round(run["in_turn_here_2_threads_s"] / wall, 3)
    print("refit", run, flush=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=40.0, help="seconds per throughput run")
    parser.add_argument("--trials", type=int, default=200, help="trials per overhead run")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    record = {
        "command": " ".join([os.path.basename(sys.executable), "-m", "benchmarks.ray_backend", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "throughput": throughput(args.budget),
        "overhead": overhead(args.trials),
        "ensemble_refit": refit_phase(args.budget),
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
