"""Wall time of a short tracked job end to end: what automl costs beyond its trials, from the CLI and from Python.

    python -m benchmarks.short_job --repeats 5 --out benchmarks/results/short_job.json
    python -m benchmarks.short_job --checkouts /tmp/before . --repeats 5   # two versions of automl, interleaved

Each measurement is a fresh process, as a user runs it: ``automl --version``; ``automl tune
examples/breast_cancer.yaml --max-trials 1`` (lgbm, tracked into a SQLite store that already exists, the model
written); and a Python process timing ``AutoML(max_trials=1, estimators=["lgbm"]).fit`` on breast cancer, tracked
the same way (its imports not counted), then, after a 5 s pause (a notebook user's), a second such fit in the same
process, with the spare writer the first fit left and without it (``AUTOML_SPARE_WRITER=0``). With several checkouts (one venv; each checkout's code put first on
``PYTHONPATH``), their runs alternate, so a noisy machine weighs on each alike. Medians and every run are recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIT = """
import sys, time
from sklearn.datasets import load_breast_cancer
from automl import AutoML
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
for pause in (0, 5):
    time.sleep(pause)
    started = time.perf_counter()
    AutoML(time_budget=30, max_trials=1, estimators=["lgbm"], seed=0, tracking_uri=sys.argv[1]).fit(X, y)
    print(time.perf_counter() - started)
"""


def timed(command: list[str], checkout: Path, cwd: Path, **env_vars: str) -> tuple[float, str]:
    env = {**os.environ, **env_vars,
           "PYTHONPATH": os.pathsep.join(p for p in (str(checkout), os.environ.get("PYTHONPATH")) if p)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {checkout}: {done.stderr[-2000:]}")
    return wall, done.stdout


def measure(checkout: Path, folder: Path) -> dict[str, float]:
    store = f"sqlite:///{folder / 'mlflow.db'}"
    job = checkout / "examples" / "breast_cancer.yaml"
    version, _ = timed([sys.executable, "-m", "automl", "--version"], checkout, folder)
    tune, _ = timed([sys.executable, "-m", "automl", "tune", str(job), "--max-trials", "1", "--estimators", "lgbm",
                     "--tracking-uri", store, "--output", str(folder / "model.pkl"), "--quiet"], checkout, folder)
    _, fits = timed([sys.executable, "-c", FIT, store], checkout, folder)
    _, spare_off = timed([sys.executable, "-c", FIT, store], checkout, folder, AUTOML_SPARE_WRITER="0")
    first, second = (float(line) for line in fits.strip().splitlines()[-2:])
    return {"version_s": version, "tune_1_trial_s": tune, "fit_1_trial_s": first, "second_fit_1_trial_s": second,
            "second_fit_1_trial_no_spare_s": float(spare_off.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=Path, nargs="+", default=[REPO])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkouts]
    runs: dict[str, list[dict[str, float]]] = {str(c): [] for c in checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {c: Path(tmp) / str(i) for i, c in enumerate(checkouts)}
        for checkout, folder in folders.items():  # each store exists before the measured runs, as on a second job
            folder.mkdir()
            measure(checkout, folder)
        for _ in range(args.repeats):
            for checkout, folder in folders.items():
                runs[str(checkout)].append(measure(checkout, folder))
    medians = {c: {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]} for c, rs in runs.items()}
    result: dict[str, Any] = {
        "command": " ".join(["python", "-m", "benchmarks.short_job", *sys.argv[1:]]),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
        "commits": {c: subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=c, capture_output=True,
                                      text=True).stdout.strip() for c in map(str, checkouts)},
        "median": medians,
        "runs": runs,
    }
    text = json.dumps(result, indent=1)
    print(json.dumps(medians, indent=1))
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
