"""``automl predict``: predictions of a saved model or an MLflow model for a table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.errors import InputError
from automl.io import check_output, read_table, write_table
from automl.persistence import MLFLOW_SCHEMES, load_model
from automl.svmlight import align_features, is_svmlight


def run_predict(model_ref: str, data: Path, out: Path, proba: bool, interval: float | None = None,
                trust_model: bool = False) -> int:
    """Write a ``prediction`` column (and ``proba_<class>`` or ``lower``/``upper`` columns) for each row.

    A forecast's rows keep their time and series columns in front; a ranking model's prediction is its
    score of the row (higher ranks first within a query). ``out`` is written only once complete, and never over the
    rows or the model. Returns the row count.
    """
    check_output(out, "--out")
    for flag, path in (("--data", data), ("--model", Path(model_ref))):
        if out.exists() and path.exists() and out.samefile(path):
            raise InputError(f"--out {str(out)!r} is the {flag} file; choose another path so that file is kept.")
    for flag, used in (("--proba", proba), ("--interval", interval is not None)):
        if used and model_ref.startswith(MLFLOW_SCHEMES):
            raise InputError(f"{flag} needs a model file written by `automl tune`; MLflow pyfunc models predict only.")
    model = load_model(model_ref, trust=trust_model)
    frame = read_table(data, "data")
    if is_svmlight(data) and hasattr(model, "feature_names_in_"):
        frame = align_features(frame, list(model.feature_names_in_))  # features absent from a sparse file are 0
    spec = getattr(model, "task_", None)
    keys = [c for c in getattr(spec, "row_key_columns", ()) if c in frame.columns]
    result = frame[keys].reset_index(drop=True).copy()
    result["prediction"] = np.asarray(model.predict(frame)).ravel()
    if interval is not None:
        bounds = model.predict_interval(frame, interval)
        result["lower"], result["upper"] = bounds["lower"].to_numpy(), bounds["upper"].to_numpy()
    if proba:
        if not hasattr(model, "classes_"):
            raise InputError("--proba applies to classification models only; drop --proba for this model.")
        probabilities = model.predict_proba(frame)
        for i, label in enumerate(model.classes_):
            result[f"proba_{label}"] = probabilities[:, i]
    write_table(result, out)
    return len(result)
