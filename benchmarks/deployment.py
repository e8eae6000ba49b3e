"""What a latency limit costs in score, and ONNX against native latency, on the bundled tabular sets.

    python -m benchmarks.deployment --budget 20 --seeds 0 1 2 --out benchmarks/results/deployment.json
    python -m benchmarks.deployment --budget 20 --seeds 0 1 2 --sets hotel_rates lending_club \
        --out benchmarks/results/deployment_categorical.json

For each set (scikit-learn's bundled breast_cancer, wine, digits, diabetes, all numeric; or, named by
``--sets``, a table of the tabular suite, ``benchmarks/tabular_data.py``, with its categorical columns as
strings) and seed, on the same 75/25 split (stratified for classification, the seed's), two jobs with the same budget and seed, both single models
(``ensemble=False``) and both measuring every trial (so the measuring overhead is the same):

* free: ``constraints={"predict_ms_per_row": 1e9}`` (no effective limit): its shipped model's latency per row
  ``L`` (``shipped_predict_ms_per_row`` as the job logs it: raw rows in, feature transform included);
* limited: ``constraints={"predict_ms_per_row": T + (L - T) / 10}``, where ``T`` is the job's feature transform
  (raw rows to the model's columns, timed once per job and part of every trial's latency): a tenth of the free
  model's own latency on top of the transform every model pays. A tenth of ``L`` itself (``literal_limit``) is
  recorded beside it; where it is below ``T`` (``literal_below_transform``) no model can meet it by construction.

A third job with the same budget and seed searches both at once (``objectives=["score", "predict_ms_per_row"]``,
no limit): its Pareto front's size (``front_size``), its members' validation scores and latencies, and the test
score of the model it ships (the front's best score).

Recorded per pair: the test score of each (the job's metric: roc_auc, log_loss, r2), the score lost (free -
limited, in the direction where positive is worse), both shipped latencies, the families, the trials and how
many were infeasible, or the limited job's one-sentence error when no trial met the limit. Each shipped model
is exported to ONNX where its family allows (``AutoML.to_onnx``) and onnxruntime's latency per row is recorded
beside the native one (both on a batch of 1,000 test rows, cycled). Results: the command, the machine, the rows
and a summary.
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
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.model_selection import train_test_split

from automl import AutoML, AutoMLError
from benchmarks.tabular_data import DATASETS

SETS = {"breast_cancer": (load_breast_cancer, "classification"), "wine": (load_wine, "classification"),
        "digits": (load_digits, "classification"), "diabetes": (load_diabetes, "regression")}


def load(name: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, str]:
    if name in DATASETS:
        data = DATASETS[name]
        X_train, X_test, y_train, y_test = data.split(*data.load(), seed)
        return X_train, X_test, y_train, y_test, "regression" if data.task == "regression" else "classification"
    loader, task = SETS[name]
    X, y = loader(return_X_y=True, as_frame=True)
    X.columns = [str(c) for c in X.columns]
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)
    return X_train, X_test, y_train, y_test, task


def test_score(m: AutoML, X: pd.DataFrame, y: pd.Series) -> float:
    return float(m.score(X, y))  # greater is better (a loss comes back negated)


def fit(task: str, budget: float, seed: int, limit: float, X: pd.DataFrame, y: pd.Series) -> tuple[AutoML, float]:
    m = AutoML(task=task, time_budget=budget, seed=seed, tracking=False, ensemble=False,
               constraints={"predict_ms_per_row": limit})
    started = time.monotonic()
    m.fit(X, y)
    return m, time.monotonic() - started


def pareto(task: str, budget: float, seed: int, X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame,
           y_test: pd.Series) -> dict[str, Any]:
    """The multi-objective job: its front (size, score and latency ranges) and its shipped model's test score."""
    m = AutoML(task=task, time_budget=budget, seed=seed, tracking=False, ensemble=False,
               objectives=["score", "predict_ms_per_row"])
    started = time.monotonic()
    m.fit(X, y)
    wall = time.monotonic() - started
    front = m.pareto_front()
    return {"front_size": len(front), "front_families": sorted(set(front["estimator"])),
            "front_score_range": [round(float(front["score"].min()), 5), round(float(front["score"].max()), 5)],
            "front_ms_per_row_range": [round(float(front["predict_ms_per_row"].min()), 6),
                                       round(float(front["predict_ms_per_row"].max()), 6)],
            "pareto_trials": len(m.study_.trials), "pareto_wall_s": round(wall, 2),
            "pareto_test_score": test_score(m, X_test, y_test)}


def onnx_latency(m: AutoML, X_test: pd.DataFrame) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        try:
            exported = m.to_onnx(Path(folder) / "model.onnx", X_test)
        except Exception as exc:  # noqa: BLE001 - a family ONNX does not cover is a recorded fact, not a crash
            return {"onnx_error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"onnx_ms_per_row": round(exported.onnx_ms_per_row, 6), "native_ms_per_row": round(exported.native_ms_per_row, 6),
            "onnx_max_difference": exported.max_difference, "onnx_mb": round(exported.size_mb, 4)}


def run_pair(name: str, seed: int, budget: float) -> dict[str, Any]:
    X_train, X_test, y_train, y_test, task = load(name, seed)
    row: dict[str, Any] = {"set": name, "seed": seed, "rows": len(X_train) + len(X_test), "features": X_train.shape[1],
                           "categorical_features": int(sum(not pd.api.types.is_numeric_dtype(t) for t in X_train.dtypes))}
    free, free_wall = fit(task, budget, seed, 1e9, X_train, y_train)
    latency = free.measured_["shipped_predict_ms_per_row"]
    row.update(metric=free.metric_, free_score=test_score(free, X_test, y_test), free_family=free.best_estimator_,
               free_ms_per_row=latency, free_wall_s=round(free_wall, 2), free_trials=len(free.study_.trials),
               **{f"free_{k}": v for k, v in onnx_latency(free, X_test).items()})
    row.update(pareto(task, budget, seed, X_train, y_train, X_test, y_test))
    transform = free.measured_["transform_ms_per_row"]
    limit = transform + (latency - transform) / 10
    row.update(transform_ms_per_row=transform, limit_ms_per_row=limit, literal_limit=latency / 10,
               literal_below_transform=latency / 10 <= transform)
    try:
        limited, limited_wall = fit(task, budget, seed, limit, X_train, y_train)
    except AutoMLError as exc:
        row["limited_error"] = str(exc)
        return row
    statuses = pd.Series([t.status for t in limited.study_.trials]).value_counts().to_dict()
    row.update(limited_score=test_score(limited, X_test, y_test), limited_family=limited.best_estimator_,
               limited_ms_per_row=limited.measured_["shipped_predict_ms_per_row"],
               limited_wall_s=round(limited_wall, 2), limited_trials=len(limited.study_.trials),
               limited_infeasible=int(statuses.get("infeasible", 0)),
               **{f"limited_{k}": v for k, v in onnx_latency(limited, X_test).items()})
    row["score_lost"] = row["free_score"] - row["limited_score"]
    return row


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    sets = list(dict.fromkeys(r["set"] for r in rows))
    paired = [r for r in rows if "limited_score" in r]
    ratios = [r[f"{side}_native_ms_per_row"] / r[f"{side}_onnx_ms_per_row"] for r in rows for side in ("free", "limited")
              if f"{side}_onnx_ms_per_row" in r]
    return {
        "pairs": len(rows), "limited_met": len(paired), "limited_no_feasible_trial": len(rows) - len(paired),
        "score_lost_median": statistics.median([r["score_lost"] for r in paired]) if paired else None,
        "score_lost_by_set": {s: [round(r["score_lost"], 5) for r in paired if r["set"] == s] for s in sets},
        "limited_latency_within_limit": sum(r["limited_ms_per_row"] <= r["limit_ms_per_row"] for r in paired),
        "literal_limit_below_transform": sum(bool(r["literal_below_transform"]) for r in rows),
        "free_ms_per_row_median": statistics.median(r["free_ms_per_row"] for r in rows),
        "transform_share_of_free_latency_median": statistics.median(r["transform_ms_per_row"] / r["free_ms_per_row"]
                                                                    for r in rows),
        "native_over_onnx_latency_median": statistics.median(ratios) if ratios else None,
        "front_size_median": statistics.median(r["front_size"] for r in rows),
        "front_size_by_set": {s: [r["front_size"] for r in rows if r["set"] == s] for s in sets},
        "transform_ms_per_row_by_set": {s: statistics.median(r["transform_ms_per_row"] for r in rows if r["set"] == s)
                                        for s in sets},
        "onnx_exports": len(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS) + list(DATASETS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/deployment.json"))
    args = parser.parse_args()
    started, rows = time.monotonic(), []
    for name in args.sets:
        for seed in args.seeds:
            rows.append(run_pair(name, seed, args.budget))
            print(json.dumps(rows[-1], default=str), flush=True)
    record = {
        "command": "python -m benchmarks.deployment " + " ".join(sys.argv[1:]),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S"), "total_wall_s": round(time.monotonic() - started, 1),
        "budget_s": args.budget, "seeds": args.seeds, "rows": rows, "summary": summarize(rows),
    }
    args.out.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(json.dumps(record["summary"], indent=2))


if __name__ == "__main__":
    main()
