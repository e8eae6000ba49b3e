"""Per-trial overhead of automl's search loop against Optuna's own ``study.optimize``, in one run.

    python benchmarks/loop_overhead.py --trials 300 --out benchmarks/results/loop_overhead.json

Both run TPE on the same trivial objective (a quadratic over two floats, an
int and a categorical) for the same number of trials. Optuna runs twice: in
memory, and with its own SQLite storage (``RDBStorage``), the fair comparison
for a loop that persists every trial. automl's loop is the one
``AutoML.fit`` uses: strategy ask/tell, the trial ledger, the in-process
backend and (optionally) MLflow tracking into a fresh SQLite store; the
objective returns at once, so what is timed is the loop itself. Two more rows time the trial limits: each
trial in a thread waited for up to its limit (every job with a time budget), and each trial in the reused
child process of ``memory_limit_mb`` (the child's start included). With tracking,
two figures: until the last trial is told (the loop; trial runs are written by
a background thread), and until every trial run is in the store.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import optuna

from automl.backends.base import BackendOptions
from automl.backends.inprocess import InProcessBackend
from automl.budget import Budget
from automl.space import JointSpace, parse_space
from automl.strategies import STRATEGIES
from automl.study import OK, Study, Trial, TrialResult
from automl.tracking import NullTracker, Tracker
from automl.tracking.mlflow_tracker import MlflowTracker

SPACE = {
    "params": {
        "x": {"type": "float", "low": -5.0, "high": 5.0, "default": 0.0},
        "y": {"type": "float", "low": -5.0, "high": 5.0, "default": 0.0},
        "n": {"type": "int", "low": 1, "high": 1000, "log": True, "default": 10},
        "kind": {"type": "categorical", "choices": ["a", "b"], "default": "a"},
    }
}


def loss(x: float, y: float, n: int, kind: str) -> float:
    return (x - 1) ** 2 + (y + 2) ** 2 + (kind == "a") * 0.5 + abs(n - 100) / 1000


def run_automl(trials: int, strategy_name: str, tracker: Tracker,
               options: BackendOptions | None = None) -> tuple[float, float]:
    """Seconds until the last trial is told to the strategy, and until the tracker has written everything."""
    space = JointSpace({"quad": parse_space(SPACE, "bench", "quad").for_task("classification", {})})
    strategy = STRATEGIES.get(strategy_name)(space, 0, ["quad"])
    study = Study(0)

    def objective(trial: Trial, deadline: float | None) -> TrialResult:
        value = loss(**trial.config)
        return TrialResult(OK, value, value)

    started = time.perf_counter()
    tracker.start({"benchmark": "loop_overhead"}, {"automl.job_name": "loop-overhead"})
    InProcessBackend(options).run(study, strategy, objective, Budget(None, trials), lambda s, t: tracker.log_trial(t, strategy_name))
    loop = time.perf_counter() - started
    tracker.end()
    return loop, time.perf_counter() - started


def run_optuna(trials: int, storage: str | None = None) -> float:
    """Optuna's own loop; with ``storage`` (an RDB URL) every trial is persisted, as automl's tracked loop does."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, multivariate=True, group=True),
                                storage=storage)

    def objective(trial: optuna.Trial) -> float:
        return loss(trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5),
                    trial.suggest_int("n", 1, 1000, log=True), trial.suggest_categorical("kind", ["a", "b"]))

    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/loop_overhead.json"))
    args = parser.parse_args()
    store = f"sqlite:///{tempfile.mkdtemp()}/loop.db"
    tracked_loop, tracked_all = run_automl(args.trials, "tpe", MlflowTracker(store, "loop-overhead"))
    rows = {
        "optuna_study_optimize_tpe": run_optuna(args.trials),
        "optuna_study_optimize_tpe_sqlite_storage": run_optuna(args.trials, f"sqlite:///{tempfile.mkdtemp()}/optuna.db"),
        "automl_tpe_tracking_off": run_automl(args.trials, "tpe", NullTracker())[0],
        "automl_tpe_tracking_mlflow_sqlite_loop": tracked_loop,
        "automl_tpe_tracking_mlflow_sqlite_until_all_written": tracked_all,
        "automl_random_tracking_off": run_automl(args.trials, "random", NullTracker())[0],
        "automl_cfo_tracking_off": run_automl(args.trials, "cfo", NullTracker())[0],
        # each trial in a thread waited for up to its limit (what every job with a time budget does)
        "automl_random_tracking_off_trial_thread": run_automl(args.trials, "random", NullTracker(),
                                                              BackendOptions(trial_timeout=3600))[0],
        # each trial in the reused child process (memory_limit_mb), its start included
        "automl_random_tracking_off_trial_process": run_automl(args.trials, "random", NullTracker(),
                                                               BackendOptions(memory_limit_mb=4096))[0],
    }
    per_trial_ms = {k: round(1000 * v / args.trials, 3) for k, v in rows.items()}
    base = per_trial_ms["optuna_study_optimize_tpe"]
    record = {
        "command": f"python benchmarks/loop_overhead.py --trials {args.trials} --out {args.out}",
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "trials": args.trials,
        "per_trial_ms": per_trial_ms,
        "ratio_to_optuna": {k: round(v / base, 3) for k, v in per_trial_ms.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
