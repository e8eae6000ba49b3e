"""ONNX export of a shipped tabular model, checked against the model itself with onnxruntime.

The converters are the well-kept ones: skl2onnx for scikit-learn (forests, linear models, the imputer and
scaler in front of them) and onnxmltools' LightGBM and XGBoost converters registered into it. The ONNX graph
takes one float32 input ``X`` (rows x the model's input columns, in ``input_columns`` order, booleans as 0/1),
so the feature transform of a numeric table is inside the file; a categorical or date column is a clear error.
A classifier's outputs are ``label`` (the index into the model's classes) and ``probabilities`` (columns in
class order); a regressor's is ``variable``. The file's metadata holds ``input_columns`` and ``classes`` (JSON).

The check: onnxruntime's predictions on the check rows must equal the model's within :data:`TOLERANCE`
(absolute, on class probabilities or on values scaled by ``max(1, |value|)``), the model given the same
float32-rounded inputs the ONNX graph sees. The latency per row of both, on a batch of ``batch_rows`` rows
(cycled), is measured as ``automl.constraints`` measures trials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl import __version__
from automl.atomic import replacing
from automl.constraints import DEFAULT_BATCH_ROWS, batch_ms_per_row
from automl.errors import AutoMLError, InputError
from automl.sparse import take_rows

INSTALL_HINT = 'pip install "automl[onnx]" (skl2onnx, onnxmltools, onnxruntime)'
#: Families whose fitted models convert.
EXPORTABLE = ("lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_trees", "lr")
#: Largest difference allowed between onnxruntime's and the model's predictions on the check rows.
TOLERANCE = 1e-4
#: Check rows taken from the rows given (the first ones).
CHECK_ROWS = 1000
OPSET = {"": 17, "ai.onnx.ml": 3}


@dataclass(frozen=True)
class OnnxExport:
    """What ``to_onnx`` wrote and measured."""

    path: Path
    family: str
    rows_checked: int
    max_difference: float
    onnx_ms_per_row: float
    native_ms_per_row: float
    size_mb: float

    def summary(self) -> str:
        return (f"Wrote {self.path} ({self.family}, {self.size_mb:.3g} MB): onnxruntime agrees with the model on "
                f"{self.rows_checked} rows (largest difference {self.max_difference:.2g}, tolerance {TOLERANCE:g}); "
                f"{self.onnx_ms_per_row:.4g} ms per row against {self.native_ms_per_row:.4g} ms native.")


def export_onnx(model: Any, family: str, task: str, path: str | Path, rows: pd.DataFrame,
                batch_rows: int = DEFAULT_BATCH_ROWS) -> OnnxExport:
    """Convert ``model`` (a ``TunedModel`` of ``family``) to ONNX at ``path``, checked on ``rows``."""
    onnx_tools = _import_onnx()
    if task not in ("binary", "multiclass", "classification", "regression"):
        raise InputError(f"ONNX export covers classification and regression models, not task={task!r}.")
    if family not in EXPORTABLE:
        raise InputError(f"The shipped model is {family!r}, which ONNX export does not cover; it covers "
                         f"{', '.join(EXPORTABLE)} (fit with estimators=[...] among them, and ensemble=False).")
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"out={str(path)!r} is in folder {str(path.parent)!r}, which does not exist; create it first.")
    columns = _numeric_columns(model.preprocessor)
    estimator = _plain_estimator(model.estimator, family)
    classifies = model.classes_ is not None
    onnx_model = _convert(onnx_tools, estimator, family, len(columns), classifies)
    onnx_model.metadata_props.add(key="input_columns", value=json.dumps(columns))
    onnx_model.metadata_props.add(key="classes", value=json.dumps(
        None if model.classes_ is None else [c.item() if hasattr(c, "item") else c for c in model.classes_]))
    onnx_model.metadata_props.add(key="automl_version", value=__version__)
    data = onnx_model.SerializeToString()
    session = onnx_tools["onnxruntime"].InferenceSession(data, providers=["CPUExecutionProvider"])
    check = rows.iloc[:CHECK_ROWS]
    inputs = _as_input(model.preprocessor, check)
    difference = _difference(model, classifies, session, check, inputs)
    if difference > TOLERANCE:
        raise AutoMLError(f"onnxruntime's predictions differ from the model's by up to {difference:.3g} on the check "
                          f"rows (tolerance {TOLERANCE:g}); no ONNX file was written. Please report this with the "
                          "model's family and data types.")
    with replacing(path) as target:  # only a checked model replaces what is there
        target.write_bytes(data)
    onnx_ms = batch_ms_per_row(lambda X: session.run(None, {"X": X}), inputs, batch_rows, take_rows)
    native_ms = batch_ms_per_row(model.predict, check, batch_rows, take_rows)
    return OnnxExport(path, family, len(check), difference, onnx_ms, native_ms, len(data) / 1e6)


def _import_onnx() -> dict[str, Any]:
    try:
        import onnxruntime
        import skl2onnx
    except ImportError as exc:
        raise InputError(f"ONNX export needs {exc.name}; {INSTALL_HINT}.") from None
    return {"onnxruntime": onnxruntime, "skl2onnx": skl2onnx}


def _numeric_columns(preprocessor: Any) -> list[str]:
    """The model's input columns, each numeric or boolean (what one float tensor can carry)."""
    if getattr(preprocessor, "sparse_", False):
        raise InputError("The model was fitted on a sparse matrix; ONNX export takes models of tables of numeric columns.")
    for column, kind in preprocessor.kinds_.items():
        if kind != "numeric":
            raise InputError(f"Column {column!r} is {kind}; ONNX export takes models whose input columns are all "
                             "numeric or boolean (encode it as numbers before fit, e.g. with pandas' codes).")
    return list(preprocessor.input_columns_)


def _plain_estimator(estimator: Any, family: str) -> Any:
    """The fitted model as converters know it: scikit-learn, LightGBM or XGBoost objects only."""
    from sklearn.pipeline import Pipeline

    if family in ("rf", "extra_trees"):
        return estimator.named_steps["forest"]  # CategoryCodes is the identity on numeric columns
    if family == "lr":
        features = estimator.named_steps["features"].features_  # LinearFeatures: the fitted ColumnTransformer
        numeric = features.named_transformers_["numeric"]  # imputer + scaler over every (numeric) column
        return Pipeline([*numeric.steps, ("model", estimator.named_steps["model"])])
    if family in ("xgboost", "xgb_limitdepth"):  # onnxmltools reads features by position: names must be f0, f1, ...
        import copy

        estimator = copy.deepcopy(estimator)
        booster = estimator.get_booster()
        booster.feature_names, booster.feature_types = None, None
    return estimator


def _convert(tools: dict[str, Any], estimator: Any, family: str, n_columns: int, classifies: bool) -> Any:
    skl2onnx = tools["skl2onnx"]
    from skl2onnx.common.data_types import FloatTensorType

    _register_boosting_converters()
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    options = {id(final): {"zipmap": False}} if classifies else None
    try:
        return skl2onnx.convert_sklearn(estimator, initial_types=[("X", FloatTensorType([None, n_columns]))],
                                        target_opset=OPSET, options=options)
    except Exception as exc:  # noqa: BLE001 - the converter's own words, in one sentence
        raise AutoMLError(f"The {family} model did not convert to ONNX ({type(exc).__name__}: {exc}).") from exc


def _register_boosting_converters() -> None:
    """onnxmltools' LightGBM and XGBoost converters, registered into skl2onnx (idempotent)."""
    import lightgbm
    import xgboost
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes, calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    for cls, alias, convert in ((lightgbm.LGBMClassifier, "LightGbmLGBMClassifier", convert_lightgbm),
                                (xgboost.XGBClassifier, "XGBoostXGBClassifier", convert_xgboost)):
        update_registered_converter(cls, alias, calculate_linear_classifier_output_shapes, convert,
                                    options=classifier_options)
    for cls, alias, convert in ((lightgbm.LGBMRegressor, "LightGbmLGBMRegressor", convert_lightgbm),
                                (xgboost.XGBRegressor, "XGBoostXGBRegressor", convert_xgboost)):
        update_registered_converter(cls, alias, calculate_linear_regressor_output_shapes, convert)


def _as_input(preprocessor: Any, rows: pd.DataFrame) -> np.ndarray:
    """The ONNX input for ``rows``: the feature transform's numeric columns as float32."""
    return preprocessor.transform(rows).to_numpy(dtype=np.float32)


def _difference(model: Any, classifies: bool, session: Any, rows: pd.DataFrame, inputs: np.ndarray) -> float:
    """Largest difference between onnxruntime and the model on the same float32-rounded inputs."""
    rounded = pd.DataFrame(inputs.astype(np.float64), columns=model.preprocessor.input_columns_)
    outputs = session.run(None, {"X": inputs})
    if classifies:
        native = model.predict_proba(rounded)
        return float(np.max(np.abs(np.asarray(outputs[1], dtype=np.float64) - native)))
    native = np.asarray(model.predict(rounded), dtype=np.float64)
    exported = np.asarray(outputs[0], dtype=np.float64).ravel()
    return float(np.max(np.abs(exported - native) / np.maximum(1.0, np.abs(native))))


__all__ = ["EXPORTABLE", "OnnxExport", "TOLERANCE", "export_onnx"]
