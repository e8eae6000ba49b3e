"""The feature transform's latency (raw rows in, the model's columns out), per row, on the suite's tables.

    python -m benchmarks.transform_speed --checkouts /tmp/before . --out benchmarks/results/transform_speed.json

Every model a job ships runs ``TabularPreprocessor.transform`` before it predicts, so its cost is part of every
latency a deployment limit judges (``constraints={"predict_ms_per_row": ...}``). For each checkout (a folder
holding an ``automl`` package: compare two commits in one run, on one machine) and each set of
``benchmarks/tabular_data.py`` named by ``--sets``, a transform fitted on the whole table transforms a batch of
1,000 rows drawn from it (with replacement, seed 0) and a single row: the median of ``--repeats`` timings of
each, in its own process, one checkout after the other. Results: the command, the machine, one row per
checkout and set (columns by kind, milliseconds per batch and per single row).
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

SETS = ["ames_housing", "hotel_rates", "lending_club", "diamonds", "telco_churn"]

MEASURE = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import pandas as pd
import automl.data
from automl.data import TabularPreprocessor
from benchmarks.tabular_data import DATASETS
name, repeats = sys.argv[2], int(sys.argv[3])
X, _ = DATASETS[name].load()
transform = TabularPreprocessor().fit(X)
batch, one = X.sample(1000, replace=True, random_state=0).reset_index(drop=True), X.iloc[[0]]


def median_ms(rows):
    transform.transform(rows)  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        transform.transform(rows)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


print(json.dumps({"set": name, "module": automl.data.__file__, "columns": {k: int(v) for k, v in pd.Series(transform.kinds_).value_counts().items()},
                  "batch_1000_ms": round(median_ms(batch), 4), "single_row_ms": round(median_ms(one), 4)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", nargs="+", type=Path, default=[Path(".")])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/transform_speed.json"))
    args = parser.parse_args()
    rows = []
    for checkout in args.checkouts:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or None
        for name in args.sets:
            out = subprocess.run([sys.executable, "-c", MEASURE, str(checkout.resolve()), name, str(args.repeats)],
                                 capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
            row = {"checkout": str(checkout), "commit": commit, **json.loads(out.stdout.strip().splitlines()[-1])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    record = {"command": "python -m benchmarks.transform_speed " + " ".join(sys.argv[1:]),
              "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                          "python": platform.python_version()},
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "repeats": args.repeats, "rows": rows}
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
