"""automl vs FLAML at the same time budget, on the same splits of scikit-learn's bundled datasets.

    python benchmarks/compare_flaml.py --budget 30 --seeds 0 1 --out benchmarks/results/core.json

For each dataset and seed: one stratified 75/25 split, both tools fit on the
training part with the same budget, metric and seed, and are scored on the test
part with automl's metric functions. Recorded: test score, fit wall time against
the budget, trials completed. automl runs with MLflow tracking on (its default,
into a temporary SQLite store) because that is what users get.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.model_selection import train_test_split

from automl import AutoML
from automl.metrics import get_metric

DATASETS: dict[str, tuple[Callable[..., Any], str, str]] = {
    # name: (loader, task, metric)
    "breast_cancer": (load_breast_cancer, "binary", "roc_auc"),
    "wine": (load_wine, "multiclass", "log_loss"),
    "digits": (load_digits, "multiclass", "log_loss"),
    "diabetes": (load_diabetes, "regression", "r2"),
}


def test_score(task: str, metric_name: str, model: Any, X: pd.DataFrame, y: np.ndarray, classes: np.ndarray | None) -> float:
    metric = get_metric(metric_name, task)
    if metric.needs_proba:
        proba = np.asarray(model.predict_proba(X))
        return metric.fn(np.searchsorted(classes, y), proba)
    return metric.fn(y, np.asarray(model.predict(X)))


def run_automl(X: pd.DataFrame, y: np.ndarray, metric: str, task: str, budget: float, seed: int, store: str,
               early_stop: str | None = None) -> tuple[Any, dict]:
    m = AutoML(task="regression" if task == "regression" else "classification", metric=metric, time_budget=budget,
               seed=seed, tracking_uri=store, experiment="benchmark", early_stop=early_stop)
    started = time.monotonic()
    m.fit(X, y)
    wall = time.monotonic() - started
    return m, {"wall_s": wall, "trials": len(m.study_.trials), "best": m.best_estimator_,
               "classes": getattr(m, "classes_", None)}


def run_flaml(X: pd.DataFrame, y: np.ndarray, metric: str, task: str, budget: float, seed: int) -> tuple[Any, dict]:
    from flaml import AutoML as FlamlAutoML

    m = FlamlAutoML()
    log = Path(tempfile.mkdtemp()) / "flaml.log"  # log_type="all": one JSON line per trial, to count them
    started = time.monotonic()
    m.fit(X, y, task="regression" if task == "regression" else "classification", metric=metric,
          time_budget=budget, seed=seed, verbose=0, log_file_name=str(log), log_type="all")
    wall = time.monotonic() - started
    trials = sum(1 for line in log.read_text().splitlines() if '"record_id"' in line) if log.exists() else -1
    return m, {"wall_s": wall, "trials": trials, "best": m.best_estimator,
               "classes": getattr(m, "classes_", None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--automl-early-stop", default=None, help="early_stop for automl (default: none)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/core.json"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    store = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    for name in args.datasets:
        loader, task, metric = DATASETS[name]
        X, y = loader(return_X_y=True, as_frame=True)
        y = y.to_numpy()
        for seed in args.seeds:
            stratify = None if task == "regression" else y
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)
            for tool, runner in (("automl", lambda: run_automl(X_train, y_train, metric, task, args.budget, seed, store, args.automl_early_stop)),
                                 ("flaml", lambda: run_flaml(X_train, y_train, metric, task, args.budget, seed))):
                model, info = runner()
                classes = None if task == "regression" else np.unique(y_train)
                score = test_score(task, metric, model, X_test, y_test, classes)
                row = {"dataset": name, "task": task, "metric": metric, "seed": seed, "tool": tool, "budget_s": args.budget,
                       "test_score": round(float(score), 6), "wall_s": round(info["wall_s"], 2),
                       "wall_over_budget": round(info["wall_s"] / args.budget, 3), "trials": info["trials"], "best": info["best"]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    frame = pd.DataFrame(rows)
    summary = summarize(frame)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    early = f" --automl-early-stop {args.automl_early_stop}" if args.automl_early_stop else ""
    record = {"command": f"python benchmarks/compare_flaml.py --budget {args.budget:g} --seeds {' '.join(map(str, args.seeds))}{early} --out {args.out}",
              "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d"), "rows": rows, "summary": summary.to_dict(orient="records")}
    args.out.write_text(json.dumps(record, indent=2))
    print(summary.to_string(index=False))


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: mean test score of each tool, whether automl is at least as good, worst wall/budget."""
    out = []
    for name, group in frame.groupby("dataset", sort=False):
        metric = group.metric.iloc[0]
        greater = get_metric(metric, group.task.iloc[0]).greater_is_better
        ours, theirs = (group[group.tool == t] for t in ("automl", "flaml"))
        a, f = ours.test_score.mean(), theirs.test_score.mean()
        out.append({"dataset": name, "metric": metric, "automl": round(a, 5), "flaml": round(f, 5),
                    "automl_at_least_flaml": bool(a >= f if greater else a <= f),
                    "automl_max_wall_over_budget": ours.wall_over_budget.max(),
                    "flaml_max_wall_over_budget": theirs.wall_over_budget.max(),
                    "automl_trials": int(ours.trials.mean()), "flaml_trials": int(theirs.trials.mean())})
    return pd.DataFrame(out)


if __name__ == "__main__":
    main()
