"""The mlp family's architecture space against its fixed-shape space and LightGBM, and bo against tpe and random.

    python -m benchmarks.mlp_architecture --budget 20 --seeds 0 1 2 --out benchmarks/results/mlp_architecture.json

For each of scikit-learn's bundled sets (breast_cancer, wine, digits, diabetes) and seed, on the same 75/25 split
(stratified for classification, the seed's), jobs with the same budget and seed, single models (``ensemble=False``),
tracking off (what is measured is the search), scored on the test part (roc_auc, log_loss negated, r2):

* ``mlp_architecture``: ``estimators=["mlp"]`` with the shipped space (searchspaces/mlp.yaml: 1-6 blocks, a width
  and dropout per block, activation, normalisation, residual, learning-rate schedule);
* ``mlp_fixed``: ``estimators=["mlp"]`` with the space before the architecture search (every layer
  ``hidden_units`` wide with one ``dropout``, 1-4 layers, ReLU, no normalisation, constant rate), as a file;
  the training is the same (best epoch on held-out rows restored), so the difference is the space;
* ``lgbm``: ``estimators=["lgbm"]``;
* ``bo``, ``tpe``, ``random``: the default families (``estimators="auto"``) with that strategy.

Recorded per job: the test score, the trials, the failed ones, and for the mlp jobs the depths tried and the best
trial's configuration. The summary gives the mean test score per arm and set, and the per-seed wins of
mlp_architecture over mlp_fixed and over lgbm, and of bo over tpe and random. Ask overhead of bo against tpe is
``benchmarks/strategy_ask.py``'s (results/strategy_ask.json), not re-measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from automl import AutoML
from benchmarks.deployment import SETS, load

FIXED_SPACE = {
    "family": "mlp",
    "params": {
        "epochs": {"type": "int", "low": 4, "high": 256, "log": True, "default": 32, "low_cost": 4},
        "hidden_units": {"type": "int", "low": 16, "high": 512, "log": True, "default": 128, "low_cost": 16},
        "n_layers": {"type": "int", "low": 1, "high": 4, "default": 2, "low_cost": 1},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "default": 0.1},
        "learning_rate": {"type": "float", "low": 0.0001, "high": 0.03, "log": True, "default": 0.001},
        "weight_decay": {"type": "float", "low": 0.000001, "high": 0.1, "log": True, "default": 0.0001},
        "batch_size": {"type": "int", "low": 16, "high": "max(16, min(1024, n_rows))", "log": True, "default": 128,
                       "low_cost": 256},
    },
}
ARMS = ("mlp_architecture", "mlp_fixed", "lgbm", "bo", "tpe", "random")


def job(arm: str, task: str, budget: float, seed: int, fixed_file: str) -> AutoML:
    settings: dict[str, Any] = {"task": task, "time_budget": budget, "seed": seed, "tracking": False, "ensemble": False,
                                "n_jobs": 1}
    if arm.startswith("mlp"):
        settings.update(estimators=["mlp"], search_space={"mlp": fixed_file} if arm == "mlp_fixed" else None)
    elif arm == "lgbm":
        settings.update(estimators=["lgbm"])
    else:
        settings.update(strategy=arm)
    return AutoML(**settings)


def run_one(arm: str, name: str, seed: int, budget: float, fixed_file: str) -> dict[str, Any]:
    X_train, X_test, y_train, y_test, task = load(name, seed)
    m = job(arm, task, budget, seed, fixed_file)
    started = time.monotonic()
    m.fit(X_train, y_train)
    wall = time.monotonic() - started
    trials = m.study_.trials
    row: dict[str, Any] = {"set": name, "seed": seed, "arm": arm, "test_score": float(m.score(X_test, y_test)),
                           "trials": len(trials), "failed": sum(t.status == "failed" for t in trials),
                           "best_estimator": m.best_estimator_, "wall_s": round(wall, 2)}
    if arm.startswith("mlp"):
        row["depths_tried"] = dict(sorted(Counter(int(t.config["n_layers"]) for t in trials).items()))
        row["best_config"] = m.best_config_
    return row


def summarise(rows: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    by = {(r["arm"], r["set"], r["seed"]): r["test_score"] for r in rows}
    sets = sorted({r["set"] for r in rows})
    arms = [a for a in ARMS if any(r["arm"] == a for r in rows)]
    means = {arm: {s: statistics.mean(by[(arm, s, seed)] for seed in seeds) for s in sets} for arm in arms}

    def wins(a: str, b: str) -> dict[str, Any]:
        pairs = [(by[(a, s, seed)], by[(b, s, seed)]) for s in sets for seed in seeds if (a, s, seed) in by and (b, s, seed) in by]
        return {"pairs": len(pairs), "wins": sum(x > y for x, y in pairs), "ties": sum(x == y for x, y in pairs),
                "losses": sum(x < y for x, y in pairs)}

    comparisons = [("mlp_architecture", "mlp_fixed"), ("mlp_architecture", "lgbm"), ("bo", "tpe"), ("bo", "random"),
                   ("tpe", "random")]
    return {"mean_test_score": means,
            "per_seed": {f"{a} vs {b}": wins(a, b) for a, b in comparisons if a in arms and b in arms},
            "mean_trials": {arm: statistics.mean(r["trials"] for r in rows if r["arm"] == arm) for arm in arms}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mlp_architecture.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        fixed_file = os.path.join(folder, "mlp_fixed.yaml")
        Path(fixed_file).write_text(yaml.safe_dump(FIXED_SPACE))
        rows = []
        for name in args.sets:
            for seed in args.seeds:
                for arm in args.arms:
                    rows.append(run_one(arm, name, seed, args.budget, fixed_file))
                    print(json.dumps(rows[-1]), flush=True)
    result = {"command": "python -m benchmarks.mlp_architecture " + " ".join(sys.argv[1:]),
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
              "date": time.strftime("%Y-%m-%d"), "budget_s": args.budget, "seeds": args.seeds,
              "summary": summarise(rows, args.seeds), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
