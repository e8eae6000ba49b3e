"""The portfolio warm start's held-out gain: automl with and without it, each data set left out of its own portfolio.

    python -m benchmarks.portfolio_heldout --budget 20 --seeds 0 1 --out benchmarks/results/portfolio_heldout_20s.json

Per data set of benchmarks/tabular_data.py and seed: the suite's 75/25 split (benchmarks/tabular_suite.py), then
two automl fits at the same budget and seed, each in a process of its own (benchmarks/tabular_fit.py): ``warm``
with the portfolio (``--portfolio``, default the shipped ``searchspaces/portfolio.json``) *without that data
set's entry*, so no configuration mined on the data set itself is tried on it, and ``cold`` with
``warm_start=False``. The order of the two alternates with the seed (a machine that slows down over a run
favours neither). Scored by the driver on the test rows as the suite does; the summary is the suite's
(benchmarks/tabular_report.py): tool "automl" is the warm start, "automl_cold" the cold one, so "automl vs
automl_cold" counts the warm start's wins, ties and losses, and the normalised scores put the better of the
two at 1 and the constant prediction at 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from automl.portfolio import Portfolio
from benchmarks.tabular_data import DATASETS
from benchmarks.tabular_report import summarize, table
from benchmarks.tabular_suite import _commit, constant, row, run_tool, score, write_split

ARMS = {"automl": "warm", "automl_cold": "cold"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--portfolio", type=Path, default=None, help="default: the shipped portfolio")
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/portfolio_heldout_<budget>s.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    portfolio = Portfolio.shipped() if args.portfolio is None else Portfolio.load(args.portfolio)
    out_path = args.out or Path(f"benchmarks/results/portfolio_heldout_{args.budget:g}s.json")
    work = Path(tempfile.mkdtemp(prefix="portfolio-heldout-"))
    store = f"sqlite:///{work}/mlflow.db"
    tools = list(ARMS)
    record: dict[str, Any] = {
        "command": "python -m benchmarks.portfolio_heldout " + shlex.join(sys.argv[1:]),
        "machine": {"platform": platform.platform(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"), "commit": _commit(), "budget_s": args.budget, "seeds": args.seeds,
        "portfolio": portfolio.source, "arms": {"automl": "warm start, own data set left out", "automl_cold": "warm_start=False"},
        "complete": False, "rows": [], "summary": None}
    for name in args.datasets:
        ds = DATASETS[name]
        X, y = ds.load()
        held_out = work / f"portfolio-without-{name}.json"
        held_out.write_text(json.dumps(portfolio.without(name).to_json()))
        for seed in args.seeds:
            split = work / f"{name}-{seed}"
            y_train, y_test, classes = write_split(ds, X, y, seed, args.budget, store, split / "data")
            record["rows"].append(row(ds, seed, "constant", args.budget,
                                      score(ds, constant(y_train, len(y_test), classes), y_test, classes), {}))
            meta_path = split / "data" / "meta.json"
            meta = json.loads(meta_path.read_text())
            for tool in (tools if seed % 2 == 0 else tools[::-1]):
                meta_path.write_text(json.dumps({**meta, "warm_start": str(held_out) if tool == "automl" else False}))
                info = run_tool("automl", split / "data", split / tool, Path("-"), 3 * args.budget + 300)
                value = None
                if "pred" in info:
                    value = score(ds, info.pop("pred"), y_test, classes)
                entry = row(ds, seed, tool, args.budget, value, info)
                entry["warm_start_configs"] = info.get("warm_start_configs")
                record["rows"].append(entry)
                print(json.dumps(entry), flush=True)
            shutil.rmtree(split, ignore_errors=True)
        record["summary"] = summarize(record["rows"], tools, args.budget)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(record, indent=2, default=str))
    record["complete"] = True
    out_path.write_text(json.dumps(record, indent=2, default=str))
    shutil.rmtree(work, ignore_errors=True)
    print(table(record["summary"], tools))


if __name__ == "__main__":
    main()
