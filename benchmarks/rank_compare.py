"""Learning to rank: automl vs FLAML's rank task vs an untuned LightGBM ranker, at the same budget.

    python benchmarks/rank_compare.py --budget 25 --seeds 0 1 2 --out benchmarks/results/rank_compare.json

Data: ``../shared/data/ranking/rank.train`` (+ ``rank.train.query``; 201 queries, 3,005 documents), split once
by query (a quarter of the queries held out, the same split for every tool and seed). Each tool fits the
training queries with the same budget, seed and one thread per fit; every tool is scored with the same
function, automl's ndcg@10 on the held-out queries (exponential gains; queries whose labels are all equal are
left out). FLAML is given its training rows sorted by query, as it requires; automl takes them in any order
(here shuffled). automl runs with MLflow tracking on (its default, into a temporary SQLite store).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from automl import AutoML
from automl.metrics import lookup
from automl.svmlight import read_svmlight

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ranking" / "rank.train"
METRIC = "ndcg@10"


def load(path: Path, split_seed: int) -> dict[str, Any]:
    """The file split by query; training rows shuffled (automl's input), and sorted by query (FLAML's)."""
    frame = read_svmlight(path)
    train, test = next(GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=split_seed)
                       .split(frame, groups=frame.qid))
    shuffled = frame.iloc[train].sample(frac=1.0, random_state=split_seed).reset_index(drop=True)
    ordered = shuffled.sort_values("qid", kind="stable").reset_index(drop=True)
    return {"train": shuffled, "train_sorted": ordered, "test": frame.iloc[test].reset_index(drop=True)}


def parts(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    return frame.drop(columns=["label", "qid"]), frame.label.to_numpy().astype(int), frame.qid.to_numpy()


def run_automl(data: dict[str, Any], budget: float, seed: int, store: str) -> tuple[Any, dict]:
    X, y, groups = parts(data["train"])
    m = AutoML(task="rank", metric=METRIC, time_budget=budget, seed=seed, n_jobs=1, tracking_uri=store,
               experiment="rank-benchmark")
    m.fit(X, y, groups=groups)
    return m, {"trials": len(m.study_.trials), "best": m.best_estimator_}


def run_flaml(data: dict[str, Any], budget: float, seed: int) -> tuple[Any, dict]:
    from flaml import AutoML as FlamlAutoML

    X, y, groups = parts(data["train_sorted"])
    m = FlamlAutoML()
    log = Path(tempfile.mkdtemp()) / "flaml.log"
    m.fit(X, y, groups=groups, task="rank", metric=METRIC, time_budget=budget, seed=seed, n_jobs=1, verbose=0,
          log_file_name=str(log), log_type="all")
    trials = sum(1 for line in log.read_text().splitlines() if '"record_id"' in line) if log.exists() else -1
    return m, {"trials": trials, "best": m.best_estimator}


def run_untuned(data: dict[str, Any], budget: float, seed: int) -> tuple[Any, dict]:
    import lightgbm as lgb

    X, y, groups = parts(data["train_sorted"])
    _, first, sizes = np.unique(groups, return_index=True, return_counts=True)
    model = lgb.LGBMRanker(n_jobs=1, random_state=seed, verbose=-1).fit(X, y, group=sizes[np.argsort(first)])
    return model, {"trials": 1, "best": "LGBMRanker defaults"}


TOOLS = {"automl": run_automl, "flaml": run_flaml, "lgbm_untuned": run_untuned}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--budget", type=float, default=25.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/rank_compare.json"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    data = load(args.data, args.split_seed)
    X_test, y_test, groups_test = parts(data["test"])
    store = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    rows = []
    for seed in args.seeds:
        for tool, runner in TOOLS.items():
            started = time.monotonic()
            model, info = runner(data, args.budget, seed, store) if tool == "automl" else runner(data, args.budget, seed)
            wall = time.monotonic() - started
            score = lookup(METRIC).fn(y_test, np.asarray(model.predict(X_test), dtype=float), groups_test)
            row = {"tool": tool, "seed": seed, "budget_s": args.budget, "test_ndcg@10": round(float(score), 5),
                   "wall_s": round(wall, 2), **info}
            rows.append(row)
            print(json.dumps(row), flush=True)
    frame = pd.DataFrame(rows)
    summary = (frame.groupby("tool", sort=False)["test_ndcg@10"].agg(["mean", "std", "min", "max"]).round(5)
               .reset_index().to_dict(orient="records"))
    record = {
        "command": f"python benchmarks/rank_compare.py --budget {args.budget:g} --seeds {' '.join(map(str, args.seeds))} "
                   f"--split-seed {args.split_seed} --out {args.out}",
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores (shared), Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "data": f"{args.data.name}: {len(data['train']) + len(data['test'])} documents, "
                f"{len(np.unique(data['train'].qid))} training / {len(np.unique(groups_test))} held-out queries",
        "rows": rows, "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(pd.DataFrame(summary).to_string(index=False))


if __name__ == "__main__":
    main()
