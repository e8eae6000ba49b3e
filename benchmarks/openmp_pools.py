"""OpenMP thread pools and trial threads: a fit in a new thread, before and after the calling thread kept a pool.

    python -m benchmarks.openmp_pools --out benchmarks/results/openmp_pools.json

Part 1, in a fresh process per case (``--repeats`` fits each, medians): LightGBM and XGBoost (100 rounds, 5
classes, 2,000 x 6 random rows, 2 threads) fitted in a new thread, as automl's in-process trials are: in a
process whose main thread never ran OpenMP; after the main thread fitted the same model (its pool stays); and
after that, with ``automl.openmp.release_thread_pools()`` called in the main thread first. Part 2: one automl
job (seattle_weather, ``--budget`` s, tracking off) alone in a fresh process, and the same job right after
another (fair_affairs, same budget) in one process, which leaves the main thread a pool from its refit; the
second job's trials against the first's.
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

from benchmarks.tabular_suite import _commit

FITS = """
import json, statistics, sys, threading, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
from lightgbm import LGBMClassifier
from xgboost import XGBClassifier
from automl.openmp import release_thread_pools
case, repeats = sys.argv[1], int(sys.argv[2])
X, y = np.random.default_rng(0).normal(size=(2000, 6)), np.arange(2000) % 5
models = {"lightgbm": lambda: LGBMClassifier(n_estimators=100, n_jobs=2, verbose=-1),
          "xgboost": lambda: XGBClassifier(n_estimators=100, n_jobs=2)}
out = {}
for name, make in models.items():
    if case != "fresh":
        make().fit(X, y)  # in the main thread: its pool stays
    if case == "released":
        release_thread_pools()
    times = []
    for _ in range(repeats):
        def fit():
            started = time.perf_counter(); make().fit(X, y); times.append(time.perf_counter() - started)
        thread = threading.Thread(target=fit); thread.start(); thread.join()
    out[name] = round(statistics.median(times), 3)
print(json.dumps(out))
"""

JOBS = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from automl import AutoML
from benchmarks.tabular_data import DATASETS
budget, out = float(sys.argv[1]), []
for name in sys.argv[2:]:
    ds = DATASETS[name]
    X, y = ds.load()
    X_train, _, y_train, _ = ds.split(X, y, 0)
    started = time.monotonic()
    m = AutoML(task=ds.task, metric=ds.metric, time_budget=budget, seed=0, tracking=False, ensemble=False)
    m.fit(X_train.reset_index(drop=True), y_train.reset_index(drop=True))
    out.append({"dataset": name, "trials": len(m.study_.trials), "wall_s": round(time.monotonic() - started, 2)})
print(json.dumps(out))
"""


def run(code: str, *args: str) -> Any:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/openmp_pools.json"))
    args = parser.parse_args()
    fits = {case: run(FITS, case, str(args.repeats)) for case in ("fresh", "main_kept_a_pool", "released")}
    print(json.dumps(fits), flush=True)
    alone = run(JOBS, str(args.budget), "seattle_weather")
    after = run(JOBS, str(args.budget), "fair_affairs", "seattle_weather")
    record = {
        "command": "python -m benchmarks.openmp_pools " + " ".join(sys.argv[1:]), "commit": _commit(),
        "date": time.strftime("%Y-%m-%d %H:%M"), "load_1m_after": round(os.getloadavg()[0], 2),
        "machine": {"platform": platform.platform(), "cores": len(os.sched_getaffinity(0))},
        "fit_in_a_thread_median_s": fits,
        "jobs": {"seattle_weather_alone": alone[0], "fair_affairs_then_seattle_weather": after},
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["jobs"]))


if __name__ == "__main__":
    main()
