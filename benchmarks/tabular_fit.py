"""Fits automl or FLAML on one split written by benchmarks/tabular_suite.py, in a process of its own.

    python -m benchmarks.tabular_fit TOOL SPLIT_DIR OUT_DIR    # TOOL: a key of FITS (automl, automl_bo, flaml, ...)

Same protocol as benchmarks/autogluon_runner.py: reads ``SPLIT_DIR/meta.json`` and the parquet split, writes
``OUT_DIR/pred.npy`` (test class probabilities in the driver's class order, or regression predictions) and
``OUT_DIR/info.json`` (fit wall time measured around the fit call, trials, best family, versions).

automl runs with its defaults (``AutoML(task, metric, time_budget, seed)``; ``meta["warm_start"]``, where
benchmarks/portfolio_heldout.py sets it, is passed on), tracking into the run's
temporary SQLite store as a user gets it (``automl_<strategy>``: that strategy and single models, for
benchmarks/strategy_suite.py); FLAML with its defaults at the same budget, metric and seed.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from functools import partial
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd


def fit_automl(meta: dict, X: pd.DataFrame, y: pd.Series, **settings: Any) -> tuple[Any, dict]:
    from automl import AutoML, __version__

    m = AutoML(task=meta["task"], metric=meta["metric"], time_budget=meta["budget"], seed=meta["seed"],
               tracking_uri=meta["store"], experiment="tabular_suite",
               **({"warm_start": meta["warm_start"]} if "warm_start" in meta else {}), **settings)
    started = time.monotonic()
    m.fit(X, y)
    wall = time.monotonic() - started
    best = m.best_estimator_ if m.ensemble_ is None else "ensemble(" + "+".join(e["estimator"] for e in m.ensemble_) + ")"
    statuses = Counter(t.status for t in m.study_.trials)
    return m, {"fit_wall_s": wall, "trials": len(m.study_.trials), "trials_by_status": dict(statuses), "best": best,
               "versions": {"automl": __version__},
               "warm_start_configs": m.job_params_["warm_start_configs"]}


def fit_automl_rows_off(meta: dict, X: pd.DataFrame, y: pd.Series) -> tuple[Any, dict]:
    """automl with training rows as a fidelity turned off (every trial fits all its rows at once), for
    benchmarks/large_data.py's with-and-without comparison."""
    from automl import row_fidelity

    row_fidelity.MIN_TRAIN_ROWS = sys.maxsize
    return fit_automl(meta, X, y)


def fit_flaml(meta: dict, X: pd.DataFrame, y: pd.Series) -> tuple[Any, dict]:
    import flaml
    from flaml import AutoML as FlamlAutoML

    m = FlamlAutoML()
    log = Path(tempfile.mkdtemp(prefix="flaml-")) / "flaml.log"  # log_type="all": one JSON line per trial
    task = "regression" if meta["task"] == "regression" else "classification"
    started = time.monotonic()
    m.fit(X, y, task=task, metric=meta["metric"], time_budget=meta["budget"], seed=meta["seed"], verbose=0,
          log_file_name=str(log), log_type="all")
    wall = time.monotonic() - started
    trials = sum(1 for line in log.read_text().splitlines() if '"record_id"' in line) if log.exists() else -1
    return m, {"fit_wall_s": wall, "trials": trials, "best": m.best_estimator, "versions": {"flaml": flaml.__version__}}


#: Strategies the ``automl_<strategy>`` tools run (single models), for benchmarks/strategy_suite.py.
SINGLE_MODEL_STRATEGIES = ("bo", "tpe", "random")
#: Each tool's fit: ``(meta, X, y) -> (fitted model, info)``.
FITS: dict[str, Callable[[dict, pd.DataFrame, pd.Series], tuple[Any, dict]]] = {
    "automl": fit_automl, "automl_rows_off": fit_automl_rows_off, "flaml": fit_flaml,
    **{f"automl_{s}": partial(fit_automl, strategy=s, ensemble=False) for s in SINGLE_MODEL_STRATEGIES},
}


def predictions(model: Any, meta: dict, X_test: pd.DataFrame) -> np.ndarray:
    """Regression predictions, or class probabilities reordered to ``meta["classes"]``."""
    if meta["task"] == "regression":
        return np.asarray(model.predict(X_test), dtype=float)
    proba = np.asarray(model.predict_proba(X_test), dtype=float)
    order = {str(c): i for i, c in enumerate(model.classes_)}
    return np.column_stack([proba[:, order[str(c)]] if str(c) in order else np.zeros(len(proba))
                            for c in meta["classes"]])


def main() -> None:
    tool, split, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    warnings.filterwarnings("ignore")
    meta = json.loads((split / "meta.json").read_text())
    train = pd.read_parquet(split / "train.parquet")
    X_test = pd.read_parquet(split / "test.parquet").drop(columns=[meta["label"]], errors="ignore")
    y = train.pop(meta["label"])
    model, info = FITS[tool](meta, train, y)
    pred = predictions(model, meta, X_test)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "pred.npy", pred)
    (out / "info.json").write_text(json.dumps(info, default=str))


if __name__ == "__main__":
    main()
