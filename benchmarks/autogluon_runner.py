"""Fits AutoGluon on one split written by benchmarks/tabular_suite.py; run by the AutoGluon venv's python.

    .venv-autogluon/bin/python benchmarks/autogluon_runner.py SPLIT_DIR OUT_DIR

Reads ``SPLIT_DIR/meta.json`` (label, task, metric, budget, seed, classes) and ``train.parquet`` /
``test.parquet``; fits ``TabularPredictor(...).fit(train, time_limit=budget, presets="medium_quality")``
and writes ``OUT_DIR/pred.npy`` (test class probabilities in the driver's class order, or regression
predictions) and ``OUT_DIR/info.json`` (fit wall time, models trained, best model, versions). The seed
goes to the learner's ``random_state`` (its holdout split); every model keeps AutoGluon's own seed.
Nothing here imports automl: that venv does not have it (bash benchmarks/install_autogluon.sh).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

EVAL_METRIC = {"roc_auc": "roc_auc", "log_loss": "log_loss", "r2": "r2"}
# Model types of medium_quality and the module each needs (RF, XT, KNN need only scikit-learn).
MODEL_MODULES = {"GBM": "lightgbm", "CAT": "catboost", "XGB": "xgboost", "NN_TORCH": "torch", "FASTAI": "fastai"}


def model_types() -> list[str]:
    """The medium_quality model types this venv can train."""
    return ["RF", "XT", "KNN"] + [k for k, m in MODEL_MODULES.items() if importlib.util.find_spec(m)]


def run(split: Path, out: Path) -> None:
    from autogluon.tabular import TabularPredictor
    from autogluon.tabular import __version__ as ag_version

    meta = json.loads((split / "meta.json").read_text())
    label = meta["label"]
    train = pd.read_parquet(split / "train.parquet")
    X_test = pd.read_parquet(split / "test.parquet").drop(columns=[label], errors="ignore")
    models_dir = Path(tempfile.mkdtemp(prefix="autogluon-"))
    try:
        predictor = TabularPredictor(label=label, problem_type=meta["task"], eval_metric=EVAL_METRIC[meta["metric"]],
                                     path=str(models_dir), verbosity=0,
                                     learner_kwargs={"random_state": int(meta["seed"])})
        started = time.monotonic()
        predictor.fit(train, time_limit=float(meta["budget"]), presets="medium_quality")
        wall = time.monotonic() - started
        missing: list[str] = []
        if meta["task"] == "regression":
            pred = np.asarray(predictor.predict(X_test), dtype=float)
        else:
            proba = predictor.predict_proba(X_test)
            columns = {str(c): c for c in proba.columns}
            missing = [str(c) for c in meta["classes"] if str(c) not in columns]  # classes AutoGluon dropped
            pred = np.column_stack([proba[columns[str(c)]].to_numpy(dtype=float) if str(c) in columns
                                    else np.zeros(len(proba)) for c in meta["classes"]])
        names = predictor.model_names()
        info = {"fit_wall_s": wall, "trials": len(names), "best": predictor.model_best, "models": names,
                "missing_classes": missing, "model_types_available": model_types(),
                "versions": {"autogluon.tabular": ag_version, "pandas": pd.__version__,
                             "torch": _version("torch")}}
    finally:
        shutil.rmtree(models_dir, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "pred.npy", pred)
    (out / "info.json").write_text(json.dumps(info))


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    return str(getattr(__import__(module), "__version__", "unknown"))


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    run(Path(sys.argv[1]), Path(sys.argv[2]))
