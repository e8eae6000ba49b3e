"""The feature transform of a shipped tabular model as ONNX nodes, in front of the converted model.

The graph's inputs are what a server has: the numeric and boolean columns as one float32 tensor ``X`` (rows x
columns, in the fit's column order) and each categorical column as a string tensor of its own (rows x 1, named
by the column). A category is matched by its text (``str`` of the value seen at fit); a value not seen at fit,
or an empty string for a missing one, is what the model saw for a missing value. The nodes rebuild the matrix
the model was fitted on:

* tree families (LightGBM, XGBoost, forests): each category becomes its code in the fit's categories, missing
  ones NaN (``ai.onnx.ml`` LabelEncoder), in the fit's column order;
* the linear model: numbers imputed with the fit's medians and standardised, then each categorical column's
  one-hot block as the fitted encoder made it (infrequent categories share a column; missing and unseen values
  get the missing value's column, or none).

Date columns are not covered: their parts (year, month, ...) would need calendar arithmetic in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import InputError

#: Name of the float tensor of numeric columns, and of the matrix the model reads.
NUMERIC_INPUT, FEATURES = "X", "features"
#: The ``ai.onnx.ml`` opset whose LabelEncoder maps strings to numbers (keys_strings, values_*, default_*).
ML_OPSET = 2


@dataclass(frozen=True)
class FeatureGraph:
    """The graph's inputs and the ONNX model that turns them into the model's input matrix ``features``."""

    numeric_columns: list[str]
    categorical_columns: dict[str, list[str]]  # column -> its categories' texts, in code order
    width: int  # columns of ``features``
    graph: Any  # onnx.GraphProto, or None where ``X`` already is the model's matrix (numbers only, trees)

    @property
    def model_input(self) -> str:
        """The name the converted model's input must have."""
        return NUMERIC_INPUT if self.graph is None else FEATURES

    def prepend(self, converted: Any) -> Any:
        """``converted`` (the model, reading ``model_input``) with the feature nodes in front of it."""
        if self.graph is None:
            return converted
        from onnx import compose, helper

        imports = {o.domain: o for o in converted.opset_import}
        if "ai.onnx.ml" not in imports:
            converted.opset_import.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
        elif imports["ai.onnx.ml"].version < ML_OPSET:  # a converter that needed only version 1 ops
            imports["ai.onnx.ml"].version = ML_OPSET
        front = helper.make_model(self.graph, opset_imports=list(converted.opset_import), ir_version=converted.ir_version)
        return compose.merge_models(front, converted, io_map=[(FEATURES, FEATURES)])

    def feeds(self, rows: pd.DataFrame) -> dict[str, np.ndarray]:
        """The session's inputs for ``rows`` (a table with the fit's columns)."""
        feeds: dict[str, np.ndarray] = {}
        if self.numeric_columns:
            feeds[NUMERIC_INPUT] = rows[self.numeric_columns].to_numpy(dtype=np.float32, na_value=np.nan)
        for column in self.categorical_columns:
            feeds[column] = category_texts(rows[column]).reshape(-1, 1)
        return feeds


def category_texts(values: pd.Series) -> np.ndarray:
    """The strings a categorical column is matched by: ``str`` of each value, missing values as ``""``."""
    return np.array(["" if pd.isna(v) else str(v) for v in values.astype(object)], dtype=object)


def feature_graph(preprocessor: Any, estimator: Any, family: str) -> FeatureGraph:
    """The nodes in front of ``estimator`` (the fitted family model, with its own feature steps)."""
    kinds = preprocessor.kinds_
    for column, kind in kinds.items():
        if kind == "datetime":
            raise InputError(f"Column {column!r} holds dates; ONNX export takes numeric, boolean and categorical "
                             "columns (turn dates into numbers before fit, e.g. their year and day of year).")
    numeric = [c for c in preprocessor.input_columns_ if kinds[c] == "numeric"]
    categorical = {c: [str(v) for v in preprocessor.categories_[c]] for c in preprocessor.input_columns_
                   if kinds[c] == "categorical"}
    clash = [c for c in categorical if c in (NUMERIC_INPUT, FEATURES)]
    if clash:
        raise InputError(f"Categorical column {clash[0]!r} has the name of the graph's {clash[0]} tensor; rename it "
                         "before fit to export the model to ONNX.")
    if family == "lr":
        return _linear_graph(preprocessor, estimator, numeric, categorical)
    if not categorical:
        return FeatureGraph(numeric, {}, len(numeric), None)
    builder = _Builder(numeric, categorical)
    columns = [builder.numeric_column(numeric.index(c)) if kinds[c] == "numeric" else builder.codes(c)
               for c in preprocessor.input_columns_]
    return builder.finish(columns, len(columns))


def _linear_graph(preprocessor: Any, estimator: Any, numeric: list[str], categorical: dict[str, list[str]]) -> FeatureGraph:
    transformer = estimator.named_steps["features"].features_  # LinearFeatures: the fitted ColumnTransformer
    builder, blocks, width = _Builder(numeric, categorical), [], 0
    if numeric:
        (_, imputer), (_, scaler) = transformer.named_transformers_["numeric"].steps
        fill = np.nan_to_num(np.asarray(imputer.statistics_, dtype=np.float64))  # an empty column is filled with 0
        mean = np.zeros(len(numeric)) if scaler.mean_ is None else scaler.mean_
        scale = np.ones(len(numeric)) if scaler.scale_ is None else scaler.scale_
        blocks.append(builder.standardised(fill, mean, scale))
        width += len(numeric)
    if categorical:
        encoder = transformer.named_transformers_["categorical"]
        offset = 0
        for column, block_width in zip(categorical, encoder._n_features_outs):  # noqa: SLF001 - widths per column
            hot = _hot_columns(preprocessor, encoder, column, offset, block_width)
            blocks.append(builder.one_hot(column, hot, block_width))
            offset, width = offset + block_width, width + block_width
    return builder.finish(blocks, width)


def _hot_columns(preprocessor: Any, encoder: Any, column: str, offset: int, width: int) -> tuple[dict[str, int], int]:
    """Per category text, the column of ``column``'s one-hot block it sets (-1: none); and the column of a missing
    or unseen value (the preprocessor turns an unseen value into a missing one)."""
    source = {preprocessor.output_names_[c]: c for c in preprocessor.categories_}  # encoder column -> fit column
    categories = preprocessor.categories_[column]
    rows = len(categories) + 1
    frame = pd.DataFrame({name: pd.Categorical([None] * rows, categories=preprocessor.categories_[source[name]])
                          for name in encoder.feature_names_in_})
    frame[preprocessor.output_names_[column]] = pd.Categorical([*categories, None], categories=categories)
    encoded = encoder.transform(frame)
    block = np.asarray(encoded.todense() if hasattr(encoded, "todense") else encoded)[:, offset:offset + width]
    hot = [int(np.argmax(row)) if row.any() else -1 for row in block]
    return {str(v): h for v, h in zip(categories, hot[:-1])}, hot[-1]


class _Builder:
    """ONNX nodes and initialisers of one feature graph."""

    def __init__(self, numeric: list[str], categorical: dict[str, list[str]]) -> None:
        from onnx import TensorProto, helper

        self.helper, self.tensor = helper, TensorProto
        self.numeric, self.categorical = numeric, categorical
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names = 0

    def _name(self, stem: str) -> str:
        self.names += 1
        return f"automl_{stem}_{self.names}"  # apart from the converter's names in the merged graph

    def _constant(self, stem: str, values: np.ndarray, dtype: Any) -> str:
        name = self._name(stem)
        self.initializers.append(self.helper.make_tensor(name, dtype, values.shape, values.ravel().tolist()))
        return name

    def numeric_column(self, index: int) -> str:
        out = self._name("numeric")
        indices = self._constant("index", np.array([index], dtype=np.int64), self.tensor.INT64)
        self.nodes.append(self.helper.make_node("Gather", [NUMERIC_INPUT, indices], [out], axis=1))
        return out

    def codes(self, column: str) -> str:
        """The category's code as a float, NaN where the text is no category seen at fit."""
        out = self._name("codes")
        texts = self.categorical[column]
        self.nodes.append(self.helper.make_node(
            "LabelEncoder", [column], [out], domain="ai.onnx.ml", keys_strings=texts,
            values_floats=[float(i) for i in range(len(texts))], default_float=float("nan")))
        return out

    def standardised(self, fill: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> str:
        missing, filled, centred, out = (self._name(s) for s in ("missing", "filled", "centred", "scaled"))
        as_float = lambda stem, v: self._constant(stem, np.asarray(v, dtype=np.float32).reshape(1, -1), self.tensor.FLOAT)  # noqa: E731
        self.nodes += [
            self.helper.make_node("IsNaN", [NUMERIC_INPUT], [missing]),
            self.helper.make_node("Where", [missing, as_float("median", fill), NUMERIC_INPUT], [filled]),
            self.helper.make_node("Sub", [filled, as_float("mean", mean)], [centred]),
            self.helper.make_node("Div", [centred, as_float("scale", scale)], [out]),
        ]
        return out

    def one_hot(self, column: str, hot: tuple[dict[str, int], int], width: int) -> str:
        index, equal, out = self._name("hot_index"), self._name("equal"), self._name("one_hot")
        columns, missing = hot
        texts = list(columns)
        self.nodes += [
            self.helper.make_node("LabelEncoder", [column], [index], domain="ai.onnx.ml", keys_strings=texts,
                                  values_int64s=[columns[t] for t in texts], default_int64=missing),
            self.helper.make_node("Equal", [index, self._constant("positions", np.arange(width, dtype=np.int64)
                                                                  .reshape(1, -1), self.tensor.INT64)], [equal]),
            self.helper.make_node("Cast", [equal], [out], to=self.tensor.FLOAT),
        ]
        return out

    def finish(self, parts: list[str], width: int) -> FeatureGraph:
        helper, tensor = self.helper, self.tensor
        self.nodes.append(helper.make_node("Concat", parts, [FEATURES], axis=1))
        inputs = ([helper.make_tensor_value_info(NUMERIC_INPUT, tensor.FLOAT, [None, len(self.numeric)])]
                  if self.numeric else [])
        inputs += [helper.make_tensor_value_info(c, tensor.STRING, [None, 1]) for c in self.categorical]
        graph = helper.make_graph(self.nodes, "automl_features", inputs,
                                  [helper.make_tensor_value_info(FEATURES, tensor.FLOAT, [None, width])],
                                  initializer=self.initializers)
        return FeatureGraph(self.numeric, self.categorical, width, graph)
