"""Calibrates the deterministic cost estimates (``automl.cost``) against measured single-thread fit times.

    python -m benchmarks.cost_model --configs 10 --out benchmarks/results/cost_model.json

For each family, random configurations from its shipped space (boosting rounds
capped at 256, forests at 128 trees and networks at 64 epochs to bound the run;
the formulas are linear in all three) are fitted once, one thread, on four calibration datasets;
the family's linear model over its ``cost_terms`` (one fit, trees, leaves,
passes over the data, ...) is fitted to the measured seconds (least squares on
relative error, non-negative coefficients), then checked on three held-out
datasets it never saw. Recorded: per family the coefficients (pasted into the
adapters' ``cost_coefficients``) and the median ratio of estimate to
measurement; the Spearman rank correlation between estimated and measured
seconds over all families, within each dataset (what the family choice
needs: the right order of costs on the data at hand) and pooled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from scipy.stats import spearmanr
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_classification, make_regression
from threadpoolctl import threadpool_limits

from automl.cost import FitShape
from automl.estimators import BuildContext, get_adapter
from automl.space import JointSpace
from automl.strategies import STRATEGIES

FAMILIES = ["lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_trees", "lr", "mlp"]
CAPS = {"lgbm": 256, "xgboost": 256, "xgb_limitdepth": 256, "rf": 128, "extra_trees": 128, "mlp": 64}
ROUNDS = {"mlp": "epochs"}  # the parameter each cap applies to; n_estimators elsewhere


def frame(X: np.ndarray, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y


def datasets() -> dict[str, tuple[str, pd.DataFrame, np.ndarray, bool]]:
    """name -> (task, X, y, held_out)."""
    cancer = load_breast_cancer()
    digits = load_digits()
    diabetes = load_diabetes()
    return {
        "breast_cancer 569x30": ("classification", *frame(cancer.data, cancer.target), False),
        "binary 3000x20": ("classification", *frame(*make_classification(3000, 20, n_informative=8, random_state=0)), False),
        "4 classes 8000x40": ("classification", *frame(*make_classification(8000, 40, n_informative=12, n_classes=4, random_state=1)), False),
        "regression 6000x25": ("regression", *frame(*make_regression(6000, 25, n_informative=10, noise=5, random_state=2)), False),
        "digits 1797x64 (10 classes)": ("classification", *frame(digits.data, digits.target), True),
        "binary 12000x15": ("classification", *frame(*make_classification(12000, 15, n_informative=6, random_state=3)), True),
        "diabetes 442x10": ("regression", *frame(diabetes.data, diabetes.target), True),
    }


def configs(family: str, task: str, X: pd.DataFrame, n_classes: int, count: int, seed: int) -> list[dict[str, Any]]:
    names = {"n_rows": len(X), "n_features": X.shape[1], "n_classes": n_classes}
    space = get_adapter(family).search_space().for_task(task, names)
    strategy = STRATEGIES.get("random")(JointSpace({family: space}), seed, [family])
    out = []
    for _ in range(count):
        config = dict(strategy.ask().config)  # type: ignore[union-attr]
        if family in CAPS:
            rounds = ROUNDS.get(family, "n_estimators")
            config[rounds] = min(config[rounds], CAPS[family])
        out.append(config)
    return out


def measure(count: int) -> list[dict[str, Any]]:
    rows = []
    for d_index, (name, (task, X, y, held_out)) in enumerate(datasets().items()):
        n_classes = len(np.unique(y)) if task == "classification" else 0
        train = int(0.8 * len(X))
        shape = FitShape(rows=train, features=X.shape[1], n_classes=n_classes)
        for family in FAMILIES:
            adapter = get_adapter(family)
            context = BuildContext(task, n_classes, 1, 0)
            for config in configs(family, task, X, n_classes, count, seed=d_index):
                model = adapter.build(config, context)
                with threadpool_limits(limits=1):
                    started = time.perf_counter()
                    adapter.fit(model, X.iloc[:train], y[:train])
                    seconds = time.perf_counter() - started
                rows.append({"dataset": name, "held_out": held_out, "family": family, "config": config,
                             "terms": adapter.cost_terms(config, shape), "seconds": seconds})
            print(name, family, "done", flush=True)
    return rows


def fit_coefficients(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Non-negative seconds per unit of each term, minimising the relative error of the sum."""
    names = list(rows[0]["terms"])
    seconds = np.array([r["seconds"] for r in rows])
    design = np.array([[r["terms"][n] for n in names] for r in rows]) / seconds[:, None]
    scale = design.max(axis=0)  # columns of very different magnitudes: solve on a common scale
    solution, _ = nnls(design / scale, np.ones(len(rows)))
    return {n: float(f"{v:.3g}") for n, v in zip(names, solution / scale)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=10, help="random configurations per family and dataset")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = measure(args.configs)
    coefficients, per_family = {}, {}
    for family in FAMILIES:
        calibration = [r for r in rows if r["family"] == family and not r["held_out"]]
        coefficients[family] = fit_coefficients(calibration)
        for r in (r for r in rows if r["family"] == family):
            r["estimate"] = sum(coefficients[family][n] * v for n, v in r["terms"].items())
        ratios = {split: [r["estimate"] / r["seconds"] for r in rows if r["family"] == family and r["held_out"] == split]
                  for split in (False, True)}
        per_family[family] = {
            "cost_coefficients": coefficients[family],
            "median_estimate_over_measured": {"calibration": round(float(np.median(ratios[False])), 2),
                                              "held_out": round(float(np.median(ratios[True])), 2)},
            "measured_s": {"min": round(min(r["seconds"] for r in calibration), 4), "max": round(max(r["seconds"] for r in calibration), 3)},
        }

    def rank(chosen: list[dict[str, Any]]) -> float:
        return round(float(spearmanr([r["estimate"] for r in chosen], [r["seconds"] for r in chosen]).statistic), 3)

    within = {name: rank([r for r in rows if r["dataset"] == name]) for name in dict.fromkeys(r["dataset"] for r in rows)}

    record = {
        "command": "python -m benchmarks.cost_model " + " ".join(f"--{k} {v}" for k, v in vars(args).items() if k != "out" and v),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
        "fits": len(rows),
        "spearman_within_dataset": within,
        "spearman_pooled": {"calibration": rank([r for r in rows if not r["held_out"]]),
                            "held_out": rank([r for r in rows if r["held_out"]])},
        "families": per_family,
        "datasets": sorted({f"{r['dataset']}{' (held out)' if r['held_out'] else ''}" for r in rows}),
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
