"""The mlp family with learned embeddings for many-category columns against one-hot encoding only.

    python -m benchmarks.mlp_embeddings --budget 30 --seeds 0 1 2 --out benchmarks/results/mlp_embeddings.json

On the tabular suite's sets whose categorical columns have many categories (``benchmarks.tabular_data``;
``pip install -e ".[bench]"``), per seed, the suite's 75/25 split, two jobs of ``estimators=["mlp"]`` with the
same budget and seed, single models, tracking off, one thread, each in its own process:

* ``embeddings``: the shipped space (one-hot up to ``embed_above`` categories, learned embeddings of
  ``embed_dim`` dimensions above; both searched);
* ``one_hot``: the same space with ``embed_above`` fixed above every column's categories (every category one-hot),
  as the family was before embeddings.

Recorded per job: the test score (automl's metric functions: roc_auc, log_loss, r2), trials, the best trial's
``embed_above`` and ``embed_dim``. The summary gives the mean test score per arm and set and the per-seed
wins / ties / losses of ``embeddings`` (tie within 0.5 %, as the tabular suite judges them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
#: Suite sets with a categorical column of more than 16 categories (the default embed_above).
SETS = ("lending_club", "ames_housing", "hotel_rates")  # sub_grade 35, addr_state 50; Neighborhood 28; country 98, agent 125, company 167
ARMS = ("embeddings", "one_hot")
ONE_HOT_ONLY = 100_000


def run_one(name: str, arm: str, seed: int, budget: float) -> dict[str, Any]:
    """One job in this process: its row."""
    from automl import AutoML
    from benchmarks.tabular_data import DATASETS
    from benchmarks.tabular_suite import score

    ds = DATASETS[name]
    X, y = ds.load()
    X_train, X_test, y_train, y_test = ds.split(X, y, seed)
    space = None if arm == "embeddings" else {"mlp": {"embed_above": {"type": "int", "low": ONE_HOT_ONLY,
                                                                       "high": ONE_HOT_ONLY, "default": ONE_HOT_ONLY}}}
    m = AutoML(task="regression" if ds.task == "regression" else "classification", metric=ds.metric,
               estimators=["mlp"], time_budget=budget, seed=seed, tracking=False, ensemble=False, n_jobs=1,
               search_space=space)
    started = time.monotonic()
    m.fit(X_train, y_train)
    wall = time.monotonic() - started
    classes = None if ds.task == "regression" else list(m.classes_)
    pred = m.predict(X_test) if classes is None else m.predict_proba(X_test)
    value = score(ds, np.asarray(pred, dtype=float), y_test.reset_index(drop=True), classes)
    config = m.best_config_
    return {"dataset": name, "arm": arm, "seed": seed, "metric": ds.metric, "test_score": round(value, 6),
            "trials": len(m.study_.trials), "wall_s": round(wall, 2), "embed_above": config.get("embed_above"),
            "embed_dim": config.get("embed_dim"), "load_1m": round(os.getloadavg()[0], 2)}


def summarise(rows: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"mean_test_score": {}, "embeddings_vs_one_hot": {"win": 0, "tie": 0, "loss": 0}}
    for name in sorted({r["dataset"] for r in rows}):
        by_arm = {arm: {r["seed"]: r["test_score"] for r in rows if r["dataset"] == name and r["arm"] == arm}
                  for arm in ARMS}
        out["mean_test_score"][name] = {arm: round(float(np.mean(list(v.values()))), 5) for arm, v in by_arm.items() if v}
        lower_is_better = next(r["metric"] for r in rows if r["dataset"] == name) == "log_loss"
        for seed in seeds:
            a, b = by_arm["embeddings"].get(seed), by_arm["one_hot"].get(seed)
            if a is None or b is None:
                continue
            if abs(a - b) <= 0.005 * max(abs(a), abs(b)):
                out["embeddings_vs_one_hot"]["tie"] += 1
            elif (a < b) == lower_is_better:
                out["embeddings_vs_one_hot"]["win"] += 1
            else:
                out["embeddings_vs_one_hot"]["loss"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mlp_embeddings.json"))
    parser.add_argument("--one", nargs=3, metavar=("SET", "ARM", "SEED"), help=argparse.SUPPRESS)  # a child's job
    args = parser.parse_args()
    if args.one:
        name, arm, seed = args.one
        print(json.dumps(run_one(name, arm, int(seed), args.budget)))
        return
    rows = []
    for name in args.sets:
        for seed in args.seeds:
            for arm in ARMS:  # each job in a fresh process: no job inherits another's threads or caches
                done = subprocess.run([sys.executable, "-m", "benchmarks.mlp_embeddings", "--budget", str(args.budget),
                                       "--one", name, arm, str(seed)], cwd=ROOT, capture_output=True, text=True)
                if done.returncode != 0:
                    rows.append({"dataset": name, "arm": arm, "seed": seed, "error": done.stderr.strip()[-500:]})
                else:
                    rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), flush=True)
    scored = [r for r in rows if "error" not in r]
    record = {"command": "python -m benchmarks.mlp_embeddings " + " ".join(sys.argv[1:]),
              "machine": {"platform": platform.platform(), "cores": os.cpu_count(), "python": platform.python_version()},
              "date": time.strftime("%Y-%m-%d"), "commit": _commit(), "budget_s": args.budget, "seeds": args.seeds,
              "rows": rows, "summary": summarise(scored, args.seeds)}
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record["summary"], indent=1))


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


if __name__ == "__main__":
    main()
