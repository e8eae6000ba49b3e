"""The job's best model as an MLflow model: signature and input example, pinned requirements, automl's version.

Runs in the MLflow writer process (``automl.tracking.mlflow_records``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def log_model(model: Any, input_example: pd.DataFrame | None, run_id: str | None) -> str:
    """Log ``model`` (a ``TunedModel``) to run ``run_id``; return its model URI."""
    import mlflow
    from mlflow.models import infer_signature

    import automl

    skip_installed_package_scan()
    example = None if input_example is None else mlflow_safe_frame(input_example)
    signature = None if example is None else _optional_inputs(infer_signature(example, model.predict(input_example)))
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        serialization_format="cloudpickle",
        signature=signature,
        input_example=example,
        pip_requirements=_requirements(model),
        code_paths=[str(Path(automl.__file__).parent)],
        metadata={"automl_version": automl.__version__},  # checked by automl.persistence before loading
        run_id=run_id,
    )
    return str(info.model_uri)


def import_model_libraries(families: list[str]) -> None:
    """Import what the families' fitted models need at the start of the job, so receiving the best model at the
    end of the budget does not wait for imports (about a second for LightGBM and scikit-learn on 2 cores).
    In the thread that unpickles the job's messages: importing them in a second one raced with unpickling a model
    in that one."""
    import importlib

    from automl.estimators import ESTIMATORS

    for module in [m for f in families if f in ESTIMATORS for m in ESTIMATORS.get(f).libraries]:
        try:
            importlib.import_module(module)
        except ImportError:  # the job itself reports a missing library
            pass


def skip_installed_package_scan() -> None:
    """Spare MLflow its map of every installed distribution's modules (0.6 s of a 1.4 s ``write_result`` on 2 cores,
    1.2 s under load), which it builds to check a logged model's requirements against the environment.

    The map only tells it which module to ask for a version that ``importlib.metadata`` does not know; every pin of
    :func:`_requirements` was read from ``importlib.metadata``, so the check gives the same answer without it. The
    map is private to MLflow: where it is not found, MLflow builds it as before. Only in the writer process, which
    logs no model with inferred requirements.
    """
    try:
        from mlflow.utils import requirements_utils  # private: guarded

        if getattr(requirements_utils, "_MODULES_TO_PACKAGES", False) is None:
            requirements_utils._MODULES_TO_PACKAGES = {}
    except Exception:  # noqa: BLE001 - MLflow builds its map itself then
        pass


def warm_up_final_writes() -> None:
    """Pay at the job's start, while the search runs, what the final writes would otherwise pay at the budget's
    end: the report's plotting code (0.5 s on 2 cores)."""
    try:
        import plotly.graph_objects as go

        import automl_dashboards  # noqa: F401 - its imports (optuna's importance, jinja2)
    except ImportError:  # the review layouts are a separate package; the job itself does not need them
        return
    go.Figure(go.Scatter(x=[0], y=[0], mode="lines+markers"), layout={"title": "", "xaxis": {"title": ""}})


def mlflow_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain objects, which MLflow's schemas understand.

    MLflow cannot convert pandas ``category`` columns; callers of the pyfunc model
    pass such columns as strings (as JSON and CSV requests do anyway).
    """
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out


def _optional_inputs(signature: Any) -> Any:
    """Every input column may hold missing values at predict time, as ``TunedModel`` allows."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    columns = [ColSpec(c.type, c.name, required=False) for c in signature.inputs.inputs]
    return ModelSignature(inputs=Schema(columns), outputs=signature.outputs, params=signature.params)


def _requirements(model: Any) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["scikit-learn", "lightgbm", "xgboost", "pandas", "numpy", "pyyaml", "optuna", "threadpoolctl"]
    if _uses_torch(model):
        names.append("torch")
    names += list(getattr(getattr(model, "estimator", None), "libraries", ()))  # a forecaster's engines
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _uses_torch(model: Any) -> bool:
    """Whether the tuned model's estimator is, or an ensemble's members include, the PyTorch network (only then
    does serving need torch)."""
    estimator = getattr(model, "estimator", None)
    estimators = [m for m, _ in getattr(estimator, "members", [])] or [estimator]  # an ensemble or stack: its members
    return any(type(step).__module__ == "automl.estimators.torch_mlp"
               for e in estimators for step in getattr(e, "named_steps", {}).values())
