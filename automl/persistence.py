"""Saving and loading fitted models: a local file with its manifest, or an MLflow model URI.

A model file is a pickle, and unpickling runs whatever code the file names: load only files from a source you
trust. ``save_model`` writes ``<file>.manifest.json`` beside the pickle and ``load_model`` checks it before
unpickling (:mod:`automl.manifest` says what that proves and what it does not).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from automl import __version__
from automl.atomic import replacing
from automl.errors import InputError, reason
from automl.manifest import check_manifest, compatible, make_manifest, manifest_path

MLFLOW_SCHEMES = ("runs:/", "models:/", "mlflow-artifacts:/")
#: Key of the automl version in a logged MLflow model's metadata (its MLmodel file).
VERSION_KEY = "automl_version"


def save_model(model: Any, path: str | Path) -> Path:
    """Pickle ``model`` to ``path`` with its manifest; existing files are replaced only once the new ones are complete.

    The two files are renamed into place one after the other; a crash between the renames leaves a pair whose hash
    does not match, which ``load_model`` refuses rather than loading the wrong model.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"output folder {str(path.parent)!r} does not exist; create it or choose another output path.")
    data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    manifest = json.dumps(make_manifest(data, model), indent=2) + "\n"
    with replacing(path) as model_file, replacing(manifest_path(path)) as manifest_file:
        model_file.write_bytes(data)
        manifest_file.write_text(manifest, encoding="utf-8")
    return path


def load_model(reference: str | Path, trust: bool = False) -> Any:
    """Load a model saved by :func:`save_model` (its manifest checked first unless ``trust``), or an MLflow model URI."""
    text = str(reference)
    if text.startswith(MLFLOW_SCHEMES):
        return _load_mlflow(text)
    path = Path(text)
    if not path.is_file():
        raise InputError(f"model file {text!r} does not exist; pass the output path of `automl tune` or an MLflow model URI.")
    data = path.read_bytes()
    if not trust:
        check_manifest(path, data)
    try:
        model = pickle.loads(data)
    except Exception as exc:  # noqa: BLE001 - a damaged file, or classes this installation lacks
        raise InputError(f"model file {text!r} could not be unpickled ({reason(exc)}); it must be a model written by "
                         "`automl tune` with this automl version.") from exc
    if not hasattr(model, "predict"):
        raise InputError(f"model file {text!r} holds a {type(model).__name__}, not a model; pass a file written by `automl tune`.")
    return model


def _load_mlflow(uri: str) -> Any:
    """An MLflow pyfunc model, refused when the store is missing or the model was logged by another automl version."""
    import mlflow

    store = mlflow.get_tracking_uri()
    if store.startswith("sqlite:///") and not Path(store[len("sqlite:///"):]).is_file():
        raise InputError(f"model {uri!r} cannot be in the MLflow store {store!r}, which does not exist; set MLFLOW_TRACKING_URI "
                         "to the store the model was logged in.")
    try:
        metadata = mlflow.models.get_model_info(uri).metadata or {}
    except Exception as exc:  # noqa: BLE001 - report MLflow's reason in one sentence
        refused = [code for code in (401, 403) if f"error code {code}" in str(exc)]
        if refused:
            raise InputError(f"the MLflow store {store!r} refused to show model {uri!r} (HTTP {refused[0]}); set "
                             "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to a user allowed to read it.") from exc
        raise InputError(f"model {uri!r} is not in the MLflow store {store!r} ({reason(exc)}); check the URI, and set "
                         "MLFLOW_TRACKING_URI to the store the model was logged in.") from exc
    recorded = metadata.get(VERSION_KEY)
    if recorded is not None and not compatible(str(recorded)):
        raise InputError(f"model {uri!r} was logged by automl {recorded}, which automl {__version__} does not load (models "
                         "load within one major.minor version); re-run `automl tune` with this version, or install "
                         f"automl {recorded} to use the model.")
    try:
        return mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"model {uri!r} could not be loaded from MLflow ({reason(exc)}); check the URI and MLFLOW_TRACKING_URI.") from exc
