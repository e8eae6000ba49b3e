"""Every strategy, with and without early stopping, at equal budget on scikit-learn's bundled datasets.

    python -m benchmarks.strategies --budget 10 --out benchmarks/results/strategies.json

For each dataset: one stratified 75/25 split (seed 0); each (strategy,
early_stop) pair fits on the training part with the same budget and seed
(tracking off: what is measured is the search) and is scored on the test part.
Recorded: test score, validation score, trials, pruned trials, and the seconds
until the final best trial finished. "saved" compares each early-stopping run
with the same strategy's run without it: the share of the no-early-stopping
run's time-to-best that the early-stopping run did not need to reach at least
the same validation score (empty when it never reached it).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from automl import AutoML
from benchmarks.compare_flaml import DATASETS, test_score

STRATEGIES = ["random", "grid", "tpe", "cfo", "blendsearch"]


def reached_at(m: AutoML, target_loss: float) -> float | None:
    """Seconds from the first trial's start until a trial's loss was at or below ``target_loss``."""
    start = m.study_.trials[0].started_at
    for trial in m.study_.trials:
        if trial.status == "ok" and trial.loss is not None and trial.loss <= target_loss + 1e-12:
            return trial.started_at + trial.duration_s - start
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--strategies", nargs="+", default=STRATEGIES)
    parser.add_argument("--early-stop", nargs="+", default=["none", "median", "asha"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/strategies.json"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for name in args.datasets:
        loader, task, metric = DATASETS[name]
        X, y = loader(return_X_y=True, as_frame=True)
        y = y.to_numpy()
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=None if task == "regression" else y
        )
        classes = None if task == "regression" else np.unique(y_train)
        for strategy in args.strategies:
            baseline: AutoML | None = None
            for early_stop in [None if e == "none" else e for e in args.early_stop]:
                m = AutoML(task="regression" if task == "regression" else "classification", metric=metric,
                           time_budget=args.budget, seed=0, strategy=strategy, early_stop=early_stop, tracking=False)
                m.fit(X_train, y_train)
                best_loss = m.best_trial_.loss
                row = {
                    "dataset": name, "strategy": strategy, "early_stop": early_stop or "none", "eval_method": m.eval_method_,
                    "test_score": round(float(test_score(task, metric, m.pipeline_, X_test, y_test, classes)), 6),
                    "val_score": round(float(m.best_score_), 6), "trials": len(m.study_.trials),
                    "pruned": m.study_.count("pruned"), "time_to_best_s": round(reached_at(m, best_loss), 2),
                    "best": m.best_estimator_,
                }
                if baseline is None:
                    baseline = m
                else:
                    target = baseline.best_trial_.loss
                    ours, theirs = reached_at(m, target), reached_at(baseline, target)
                    row["saved"] = None if ours is None or not theirs else round(1 - ours / theirs, 3)
                rows.append(row)
                print(json.dumps(row), flush=True)
    frame = pd.DataFrame(rows)
    record = {
        "command": f"python -m benchmarks.strategies --budget {args.budget:g} --strategies {' '.join(args.strategies)} "
                   f"--early-stop {' '.join(args.early_stop)} --out {args.out}",
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"), "budget_s": args.budget, "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
