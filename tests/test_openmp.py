"""OpenMP thread pools: the caller's are released before trials run in threads of their own (automl.openmp).

How much it matters is measured, not asserted: ``python -m benchmarks.openmp_pools``.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Run in a fresh process: its thread count is this check's alone (a test process has threads of earlier tests).
CHECK = """
import json, os, time
from pathlib import Path
import numpy as np
from lightgbm import LGBMClassifier
from automl.openmp import release_thread_pools

def threads(): return len(os.listdir("/proc/self/task"))
def fit(): return LGBMClassifier(n_estimators=5, n_jobs=2, verbose=-1).fit(X, y)
X, y = np.random.default_rng(0).normal(size=(500, 4)), np.arange(500) % 3
before = threads()
fit()  # this thread now keeps a pool with a worker
with_pool = threads()
released = [Path(p).name for p in release_thread_pools()]
deadline = time.monotonic() + 5  # the pool's worker exits on its own time
while threads() >= with_pool and time.monotonic() < deadline:
    time.sleep(0.01)
after_release = threads()
predicted = fit().predict(X).shape[0]  # the runtime makes a new pool
print(json.dumps({"before": before, "with_pool": with_pool, "released": released, "after_release": after_release,
                  "again": threads(), "predicted": predicted}))
"""


def test_the_callers_openmp_workers_are_released_and_come_back_when_used() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert any(name.startswith("libgomp") for name in seen["released"]), seen
    assert seen["with_pool"] > seen["before"] and seen["after_release"] == seen["before"], seen
    assert seen["again"] == seen["with_pool"] and seen["predicted"] == 500, seen
