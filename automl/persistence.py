"""Saving and loading fitted models: a local file, or an MLflow model URI."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from automl.errors import InputError

MLFLOW_SCHEMES = ("runs:/", "models:/", "mlflow-artifacts:/")


def save_model(model: Any, path: str | Path) -> Path:
    """Pickle ``model`` atomically: an existing file is replaced only once the new one is complete."""
    path = Path(path)
    if not path.parent.exists():
        raise InputError(f"output folder {str(path.parent)!r} does not exist; create it or choose another output path.")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(model, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_model(reference: str | Path) -> Any:
    """Load a model saved by :func:`save_model`, or an MLflow model (runs:/..., models:/...)."""
    text = str(reference)
    if text.startswith(MLFLOW_SCHEMES):
        import mlflow

        try:
            return mlflow.pyfunc.load_model(text)
        except Exception as exc:  # noqa: BLE001 - report MLflow's reason in one sentence
            raise InputError(f"model {text!r} could not be loaded from MLflow ({exc}); check the URI and tracking URI.") from exc
    path = Path(text)
    if not path.is_file():
        raise InputError(f"model file {text!r} does not exist; pass the output path of `automl tune` or an MLflow model URI.")
    try:
        with path.open("rb") as stream:
            return pickle.load(stream)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"model file {text!r} could not be loaded ({exc}); it must be written by `automl tune`.") from exc
