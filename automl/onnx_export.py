"""ONNX export of a shipped tabular model, checked against the model itself with onnxruntime.

The converters are the well-kept ones: skl2onnx for scikit-learn (forests, linear models) and onnxmltools'
LightGBM and XGBoost converters registered into it (both turn native categorical splits into equality
branches). The feature transform is inside the file (``automl.onnx_features``): the graph takes the numeric
and boolean columns as one float32 input ``X`` (rows x ``input_columns``, in that order, booleans as 0/1) and
each categorical column as a string input of its own (rows x 1, named by the column, in
``categorical_columns``; a category is matched by its text, a value not seen at fit or ``""`` is a missing
one). Date columns are a clear error. A classifier's outputs are ``label`` (the index into the model's
classes) and ``probabilities`` (columns in class order); a regressor's is ``variable``. The file's metadata
holds ``input_columns``, ``categorical_columns`` and ``classes`` (JSON).

The check: onnxruntime's predictions on the check rows must equal the model's within :data:`TOLERANCE`
(absolute, on class probabilities or on values scaled by ``max(1, |value|)``), the model given the same
float32-rounded numbers the ONNX graph sees. The latency per row of both, on a batch of ``batch_rows`` rows
(cycled), is measured as ``automl.constraints`` measures trials.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from automl import __version__
from automl.atomic import replacing
from automl.constraints import DEFAULT_BATCH_ROWS, batch_ms_per_row
from automl.errors import AutoMLError, InputError
from automl.onnx_features import FeatureGraph, feature_graph
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
    if getattr(model.preprocessor, "sparse_", False):
        raise InputError("The model was fitted on a sparse matrix; ONNX export takes models of tables.")
    features = feature_graph(model.preprocessor, model.estimator, family)
    estimator = _plain_estimator(model.estimator, family)
    classifies = model.classes_ is not None
    converted = _convert(onnx_tools, estimator, family, features, classifies)
    if family in ("rf", "extra_trees"):
        _forest_missing_values(converted, estimator)
    onnx_model = features.prepend(converted)
    for key, value in (("input_columns", features.numeric_columns),
                       ("categorical_columns", list(features.categorical_columns)),
                       ("classes", None if model.classes_ is None else
                        [c.item() if hasattr(c, "item") else c for c in model.classes_])):
        onnx_model.metadata_props.add(key=key, value=json.dumps(value))
    onnx_model.metadata_props.add(key="automl_version", value=__version__)
    data = onnx_model.SerializeToString()
    session = onnx_tools["onnxruntime"].InferenceSession(data, providers=["CPUExecutionProvider"])
    model.preprocessor.transform(rows.iloc[:CHECK_ROWS])  # the fit's columns, each of its kind: an error names one
    check = _as_seen_by_onnx(rows.iloc[:CHECK_ROWS], features)
    feeds = features.feeds(check)
    difference = _difference(model, classifies, session, check, feeds)
    if difference > TOLERANCE:
        raise AutoMLError(f"onnxruntime's predictions differ from the model's by up to {difference:.3g} on the check "
                          f"rows (tolerance {TOLERANCE:g}); no ONNX file was written. Please report this with the "
                          "model's family and data types.")
    with replacing(path) as target:  # only a checked model replaces what is there
        target.write_bytes(data)
    onnx_ms = batch_ms_per_row(lambda X: session.run(None, features.feeds(X)), check, batch_rows, take_rows)
    native_ms = batch_ms_per_row(model.predict, check, batch_rows, take_rows)
    return OnnxExport(path, family, len(check), difference, onnx_ms, native_ms, len(data) / 1e6)


def _import_onnx() -> dict[str, Any]:
    try:
        import onnxruntime
        import skl2onnx
    except ImportError as exc:
        raise InputError(f"ONNX export needs {exc.name}; {INSTALL_HINT}.") from None
    return {"onnxruntime": onnxruntime, "skl2onnx": skl2onnx}


def _plain_estimator(estimator: Any, family: str) -> Any:
    """The fitted model as converters know it: scikit-learn, LightGBM or XGBoost objects only."""
    if family in ("rf", "extra_trees"):
        return estimator.named_steps["forest"]  # its CategoryCodes step is in the feature graph
    if family == "lr":  # its feature transform (imputer, scaler, one-hot encoder) is in the feature graph
        return estimator.named_steps["model"]
    if family in ("xgboost", "xgb_limitdepth"):  # onnxmltools reads features by position: names must be f0, f1, ...
        import copy

        estimator = copy.deepcopy(estimator)
        booster = estimator.get_booster()
        booster.feature_names = [f"f{i}" for i in range(booster.num_features())]  # the types say which are categories
    return estimator


def _convert(tools: dict[str, Any], estimator: Any, family: str, features: FeatureGraph, classifies: bool) -> Any:
    skl2onnx = tools["skl2onnx"]
    from skl2onnx.common.data_types import FloatTensorType

    _register_boosting_converters()
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    options = {id(final): {"zipmap": False}} if classifies else None
    try:
        with _xgboost_subtrees_numbered_once():
            return skl2onnx.convert_sklearn(estimator, target_opset=OPSET, options=options,
                                            initial_types=[(features.model_input, FloatTensorType([None, features.width]))])
    except Exception as exc:  # noqa: BLE001 - the converter's own words, in one sentence
        raise AutoMLError(f"The {family} model did not convert to ONNX ({type(exc).__name__}: {exc}).") from exc


@contextlib.contextmanager
def _xgboost_subtrees_numbered_once() -> Iterator[None]:
    """While converting: onnxmltools' XGBoost node numbering, walking each node once.

    onnxmltools (1.16) turns a categorical split of k categories into a chain of k equality nodes that all point
    at the same "yes" subtree, and its numbering (``XGBConverter._remap_nodeid``) walks that subtree again from
    each of them: nested categorical splits cost k1 x k2 x ... walks (a hotel_rates model had not converted after
    ten minutes). A node id is one subtree, so numbering a node once, in the same depth-first order, and not
    walking its subtree again gives the same numbers. The converter's own function is back on exit."""
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import XGBConverter

    def numbered_once(jsnode: dict[str, Any], remap: dict[int, int] | None = None) -> dict[int, int]:
        remap = {} if remap is None else remap
        stack = [jsnode]
        while stack:
            node = stack.pop()
            if node["nodeid"] in remap:
                continue
            remap[node["nodeid"]] = len(remap)
            stack.extend(reversed(node.get("children", [])))
        return remap

    original = XGBConverter.__dict__["_remap_nodeid"]
    XGBConverter._remap_nodeid = staticmethod(numbered_once)
    try:
        yield
    finally:
        XGBConverter._remap_nodeid = original


def _forest_missing_values(converted: Any, forest: Any) -> None:
    """Send a missing value down the side each split of ``forest`` learned for it (``missing_go_to_left``): skl2onnx
    leaves every split's at "false" (the right side), which is what scikit-learn does only for some splits."""
    (ensemble,) = [n for n in converted.graph.node if n.op_type.startswith("TreeEnsemble")]
    attributes = {a.name: a for a in ensemble.attribute}
    trees, nodes = attributes["nodes_treeids"].ints, attributes["nodes_nodeids"].ints
    left = [forest.estimators_[t].tree_.missing_go_to_left for t in range(len(forest.estimators_))]
    tracks = attributes["nodes_missing_value_tracks_true"]  # BRANCH_LEQ's true side is scikit-learn's left
    del tracks.ints[:]
    tracks.ints.extend(int(left[t][n]) for t, n in zip(trees, nodes))


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


def _as_seen_by_onnx(rows: pd.DataFrame, features: FeatureGraph) -> pd.DataFrame:
    """``rows`` with their numbers rounded to float32, as the ONNX graph reads them (categories as they are)."""
    rounded = rows.copy()
    for column in features.numeric_columns:
        rounded[column] = rows[column].to_numpy(dtype=np.float32, na_value=np.nan).astype(np.float64)
    return rounded


def _difference(model: Any, classifies: bool, session: Any, rows: pd.DataFrame, feeds: dict[str, np.ndarray]) -> float:
    """Largest difference between onnxruntime and the model on the same rows."""
    outputs = session.run(None, feeds)
    if classifies:
        native = model.predict_proba(rows)
        return float(np.max(np.abs(np.asarray(outputs[1], dtype=np.float64) - native)))
    native = np.asarray(model.predict(rows), dtype=np.float64)
    exported = np.asarray(outputs[0], dtype=np.float64).ravel()
    return float(np.max(np.abs(exported - native) / np.maximum(1.0, np.abs(native))))


__all__ = ["EXPORTABLE", "OnnxExport", "TOLERANCE", "export_onnx"]
