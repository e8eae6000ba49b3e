"""Mine the warm-start portfolio (``searchspaces/portfolio.json``) from the tabular benchmark collection.

    python -m benchmarks.portfolio_mine --budget 45 --out searchspaces/portfolio.json

Per data set of benchmarks/tabular_data.py: the training rows of the suite's seed-0 split (its test rows are
never seen), one automl job at ``--budget`` seconds without warm start and without ensembles (seed 0, every
default family), and from its trials each family's best configurations (ok trials, best first, at most
``--per-family``) other than the family's default (its first trial), which every job tries anyway. The entry
also records the data's shape as automl sees it (``automl.portfolio.DataShape``), which is what a job's choice
of starting points compares. The file says how it was made (command, budget,
commit, machine, each job's trials and wall time).

Each data set's job runs in a fresh process (multiprocessing's spawn): in one process that had run a job
before, the next job's trials ran up to 10x slower here (seattle_weather: 3 trials in 45 s after fair_affairs,
73 alone; LightGBM's default took 13.7 s against 1.1 s), so mining them in one process gave some data sets
a handful of trials (not understood yet; see the session notes).

A job never starts from its own data set's entry unless it is that data set: benchmarks/portfolio_heldout.py
measures the gain on each data set with a portfolio that leaves that data set out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections import Counter
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from automl import AutoML
from automl.portfolio import DataShape, Portfolio, PortfolioEntry
from automl.records import OK
from benchmarks.tabular_data import DATASETS
from benchmarks.tabular_suite import _commit


def mine(name: str, budget: float, per_family: int) -> tuple[PortfolioEntry, dict[str, Any]]:
    """One data set's entry: its shape and each family's best configurations from one job on its training rows."""
    ds = DATASETS[name]
    X, y = ds.load()
    X_train, _, y_train, _ = ds.split(X, y, seed=0)
    m = AutoML(task=ds.task, metric=ds.metric, time_budget=budget, seed=0, warm_start=False, ensemble=False,
               tracking=False)
    started = time.monotonic()
    m.fit(X_train.reset_index(drop=True), y_train.reset_index(drop=True))
    wall = time.monotonic() - started
    p = m.job_params_
    shape = DataShape.of(p["task"], p["n_rows"], p["n_features"], p["n_categorical"], p["n_classes"])
    ranked = sorted((t for t in m.study_.trials if t.status == OK), key=lambda t: t.loss)
    first = {}  # each family's first trial: its default (every strategy starts a family there)
    for trial in m.study_.trials:
        first.setdefault(trial.estimator, trial.config)
    configs: dict[str, list[dict[str, Any]]] = {}
    for trial in ranked:  # what the search found beyond the default: a family whose default won has no entry
        kept = configs.setdefault(trial.estimator, [])
        if len(kept) < per_family and trial.config not in kept and trial.config != first[trial.estimator]:
            kept.append(dict(trial.config))
    configs = {family: kept for family, kept in configs.items() if kept}
    trials_per_family = dict(Counter(t.estimator for t in m.study_.trials))
    record = {"dataset": name, "wall_s": round(wall, 2), "trials": len(m.study_.trials), "ok": len(ranked),
              "trials_per_family": trials_per_family, "best": m.best_estimator_,
              "best_validation_score": m.best_score_, "load_1m": round(os.getloadavg()[0], 2)}
    return PortfolioEntry(name, shape, configs), record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=45.0, help="seconds per data set's job")
    parser.add_argument("--per-family", type=int, default=2, help="best configurations kept per family")
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), help="default: every data set of the suite")
    parser.add_argument("--out", default="searchspaces/portfolio.json")
    parser.add_argument("--update", action="store_true", help="mine only --datasets again and replace their entries "
                        "(and job records) in the existing --out file, keeping the others")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    entries, records = [], []
    for name in args.datasets:
        with get_context("spawn").Pool(1) as pool:  # a fresh process per job (see the module's docstring)
            entry, record = pool.apply(mine, (name, args.budget, args.per_family))
        entries.append(entry)
        records.append(record)
        print(json.dumps(record), flush=True)
    out = Path(args.out)
    command = "python -m benchmarks.portfolio_mine " + " ".join(sys.argv[1:])
    mined = {"command": command, "budget_s": args.budget, "per_family": args.per_family, "commit": _commit(),
             "date": time.strftime("%Y-%m-%d %H:%M"),
             "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
             "split": "each data set's seed-0 75/25 split of benchmarks/tabular_suite.py: training rows only"}
    if args.update:  # the named data sets' entries replaced, each job record saying which command wrote it
        old = json.loads(out.read_text())
        kept = [e for e in Portfolio.parse(old, str(out)).entries if e.dataset not in args.datasets]
        entries = kept + entries
        records = [r for r in old["mined"]["jobs"] if r["dataset"] not in args.datasets] + [
            {**r, "command": command, "commit": mined["commit"], "date": mined["date"]} for r in records]
        mined = {**old["mined"], "updates": [*old["mined"].get("updates", []), {k: mined[k] for k in ("command", "commit", "date")}]}
    order = list(DATASETS)
    entries.sort(key=lambda e: order.index(e.dataset) if e.dataset in order else len(order))
    document = {**Portfolio(tuple(entries)).to_json(), "mined": {**mined, "jobs": records}}
    out.write_text(json.dumps(document, indent=1, default=float) + "\n")
    print(f"wrote {out}: {len(entries)} entries")


if __name__ == "__main__":
    main()
