"""Input checks and the feature transform learned at fit and replayed at predict."""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl import sparse
from automl.errors import INFINITE_FEATURES, InputError, InputTypeError, infinite_values

logger = logging.getLogger(__name__)

DATETIME_PARTS = ("year", "month", "day", "day_of_week", "day_of_year", "hour", "minute", "second")


def to_frame(X: Any, parameter: str = "X", columns: list[str] | None = None) -> pd.DataFrame:
    """Return ``X`` as a DataFrame with string column names (numpy gets x0, x1, ...).

    Object columns whose values are all numbers become numeric; values that are neither a string, a number nor a
    date (a dict, a list) become missing with a warning, and a column of nothing else is refused.
    """
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        if sparse.is_sparse(X):
            raise InputError(f"{parameter} is a sparse matrix, but this model was fitted on a dense table; pass "
                             f"{parameter}.toarray() or a DataFrame with the columns it was fitted on.")
        try:
            array = np.asarray(X)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is bad input
            raise InputError(f"{parameter} cannot be read as a table ({exc}); pass a pandas DataFrame or a 2-D array.") from exc
        if array.ndim != 2:
            raise InputError(f"{parameter} has {array.ndim} dimension(s); pass a 2-D table (rows x features): "
                             "Reshape your data with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for "
                             "a single row.")
        if columns is not None and len(columns) != array.shape[1]:  # scikit-learn's n_features_in_ message, and what to do
            raise InputError(f"{parameter} has {array.shape[1]} features, but AutoML is expecting {len(columns)} features "
                             f"as input; pass the columns it was fitted on, in this order: {columns}.")
        names = columns if columns is not None else [f"x{i}" for i in range(array.shape[1])]
        frame = pd.DataFrame(array, columns=names)
    if frame.shape[1] == 0:
        raise InputError(f"{parameter} has 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required; pass "
                         "at least one feature column.")
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise InputError(f"{parameter} has duplicated column names {duplicated}; rename them to be unique.")
    frame = _usable_objects(frame, parameter)
    complex_columns = [c for c, dtype in frame.dtypes.items() if pd.api.types.is_complex_dtype(dtype)]
    if complex_columns:
        raise InputError(f"{parameter} holds complex values in column(s) {complex_columns}: Complex data not supported; "
                         "pass real numbers (their real part or their magnitude).")
    return frame


def _usable_objects(frame: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """Object columns with unhashable values (dicts, lists) made missing there, then numbers made numeric."""
    objects = [c for c, dtype in frame.dtypes.items() if dtype == object]
    for column in objects:
        series = frame[column]
        try:
            series.unique()  # fast: hashing succeeds unless a value is a dict, a list, ...
            continue
        except TypeError:
            pass
        unusable = ~series.map(lambda v: isinstance(v, Hashable))
        first = int(np.flatnonzero(unusable.to_numpy())[0])
        kind = type(series.iloc[first]).__name__
        if unusable.sum() == series.notna().sum():
            raise InputTypeError(f"Column {column!r} of {parameter} holds only values such as a {kind} (row {first}), but "
                                 "each argument must be a string or a number; convert the column (e.g. to str) or "
                                 "drop it.")
        logger.warning("Column %r of %s holds %d value(s) that are neither a string nor a number (a %s in row %d); "
                       "they are treated as missing.", column, parameter, int(unusable.sum()), kind, first)
        frame[column] = series.where(~unusable)
    return frame.infer_objects() if objects else frame


def check_xy(X: Any, y: Any, allow_missing_target: bool = False,
             columns: list[str] | None = None) -> tuple[Any, pd.Series]:
    """Validate training data: non-empty, same length, no missing targets (unless the task allows them).

    ``X`` comes back as a DataFrame, or as a CSR matrix when it is sparse; ``columns`` are those of a fitted model.
    """
    if sparse.is_sparse(X):  # checked here, kept as given (a sparse frame keeps its column names)
        checked = sparse.to_csr(X, n_features=None if columns is None else len(columns))
        frame = X if sparse.is_sparse_frame(X) else checked
    else:
        frame = to_frame(X, columns=columns).reset_index(drop=True)
    if frame.shape[0] == 0:
        raise InputError("X is empty (0 rows); pass at least a few rows of training data.")
    if frame.shape[0] == 1 and columns is None:
        raise InputError("X has one row (n_samples=1), and tuning needs rows to train on and rows to validate on; "
                         "pass at least a few rows of training data.")
    target = pd.Series(_one_dimensional(y), name="y")
    if len(target) != frame.shape[0]:
        raise InputError(f"X has {frame.shape[0]} rows but y has {len(target)}; pass one target per row.")
    if pd.api.types.is_complex_dtype(target):
        raise InputError("y holds complex values: Complex data not supported; pass real numbers or labels.")
    if pd.api.types.is_float_dtype(target):
        infinite = np.isinf(target.to_numpy())
        if infinite.any():
            raise infinite_values("y has", int(infinite.sum()), int(np.flatnonzero(infinite)[0]),
                                  "drop those rows or replace them with finite targets")
    missing = int(target.isna().sum())
    if missing and not allow_missing_target:
        raise InputError(f"y has {missing} missing value(s); drop those rows or fill the target before fit.")
    return frame, target.reset_index(drop=True)


def _one_dimensional(y: Any) -> np.ndarray:
    """``y`` as a 1-D array; a single column is taken as it is, with scikit-learn's DataConversionWarning."""
    if y is None:
        raise InputError("AutoML requires y to be passed, but the target y is None; pass one target per row of X.")
    values = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        import warnings

        from sklearn.exceptions import DataConversionWarning

        warnings.warn("A column-vector y was passed when a 1d array was expected; its single column is the target "
                      "(pass y.ravel() or a Series to silence this).", DataConversionWarning, stacklevel=4)
        values = values[:, 0]
    if values.ndim != 1:
        raise InputError(f"y has shape {values.shape}; pass a Series or 1-D array of targets (one target per row).")
    return values


def check_features(frame: Any, y: Any) -> None:
    """Training columns MLflow can name, and no copy of the target among them (a sparse matrix has neither)."""
    if sparse.is_sparse(frame):
        return
    empty = [i for i, name in enumerate(frame.columns) if name == ""]
    if empty:
        raise InputError(f"X has a column with an empty name (position {empty[0]}), which MLflow's model schema cannot "
                         "hold; give every column a name.")
    name = getattr(y, "name", None)
    if isinstance(y, pd.Series) and name is not None and str(name) in frame.columns:
        column = frame[str(name)]
        if len(column) == len(y) and column.reset_index(drop=True).equals(y.reset_index(drop=True)):
            raise InputError(f"X holds the target column {str(name)!r} as a feature, so the model would learn the answer "
                             f"from it; drop it from X (X.drop(columns={str(name)!r})).")


@dataclass(frozen=True)
class DataSummary:
    """What search spaces and the validation scheme need to know about the data."""

    n_rows: int
    n_features: int
    n_categorical: int
    n_classes: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    sparse: bool = False  # X was a scipy.sparse matrix, kept sparse
    density: float = 1.0  # the share of stored entries of a sparse X

    def bound_names(self) -> dict[str, int]:
        """Names usable in data-dependent search-space bounds."""
        return {"n_rows": self.n_rows, "n_features": self.n_features, "n_classes": self.n_classes}


def safe_name(name: str, taken: set[str]) -> str:
    """``name`` with only letters, digits and underscores (what LightGBM and XGBoost accept), unique in ``taken``."""
    base = re.sub(r"[^0-9A-Za-z_]", "_", name) or "feature"
    candidate, i = base, 1
    while candidate in taken:
        candidate, i = f"{base}_{i}", i + 1
    taken.add(candidate)
    return candidate


class TabularPreprocessor:
    """Turns a user table into numeric and category columns with a mapping fixed at fit.

    Numbers and booleans become floats, datetimes become their varying parts
    (year, month, ...), and strings / categoricals become pandas categories whose
    categories are those seen at fit; unseen values and missing values become NaN.
    """

    #: Fitted on a sparse matrix: every column numeric, and transform gives CSR (``automl.sparse``).
    sparse_: bool = False

    def fit(self, X: Any, y: Any = None) -> "TabularPreprocessor":
        """Learn column kinds, category vocabularies and varying date parts from ``X`` (``y`` is not used)."""
        self.sparse_ = sparse.is_sparse(X)
        self.input_columns_: list[str] = sparse.column_names(X) if self.sparse_ else list(X.columns)
        self.kinds_: dict[str, str] = {}
        self.categories_: dict[str, list[Any]] = {}
        self.datetime_parts_: dict[str, list[str]] = {}
        if self.sparse_:
            self.kinds_ = dict.fromkeys(self.input_columns_, "numeric")
            self.output_names_ = {c: c for c in self.input_columns_}
            return self
        for column in X.columns:
            series = X[column]
            if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
                self.kinds_[column] = "numeric"
            elif pd.api.types.is_datetime64_any_dtype(series):
                self.kinds_[column] = "datetime"
                parts = _datetime_parts(series)
                self.datetime_parts_[column] = [p for p in DATETIME_PARTS if parts[p].nunique(dropna=True) > 1]
            else:
                self.kinds_[column] = "categorical"
                values = series.astype("category").cat.categories if not isinstance(series.dtype, pd.CategoricalDtype) else series.cat.categories
                self.categories_[column] = list(values)
        taken: set[str] = set()
        self.output_names_: dict[str, str] = {}
        for column in X.columns:
            if self.kinds_[column] == "datetime":
                for part in self.datetime_parts_[column]:
                    self.output_names_[f"{column}.{part}"] = safe_name(f"{column}_{part}", taken)
            else:
                self.output_names_[column] = safe_name(column, taken)
        return self

    @property
    def categorical_features_(self) -> list[str]:
        return [self.output_names_[c] for c, kind in self.kinds_.items() if kind == "categorical"]

    def transform(self, X: Any) -> Any:
        if self.sparse_:
            return self._sparse_transform(X)
        frame = to_frame(X, columns=self.input_columns_)
        missing = [c for c in self.input_columns_ if c not in frame.columns]
        if missing:
            raise InputError(
                f"X is missing column(s) {missing} that the model was fitted on; pass all of: {self.input_columns_}."
            )
        numbers = [c for c in self.input_columns_ if self.kinds_[c] == "numeric"]
        block = _float_block(frame, numbers)  # one conversion for all numbers; None: each column judged alone
        if block is not None and len(numbers) == len(self.input_columns_):  # a table of numbers: the block is it
            return pd.DataFrame(block, columns=[self.output_names_[c] for c in numbers], copy=False)
        position = {column: i for i, column in enumerate(numbers)}
        out: dict[str, Any] = {}
        for column in self.input_columns_:
            kind = self.kinds_[column]
            if kind == "numeric":
                out[self.output_names_[column]] = (_as_float(frame[column], column).to_numpy() if block is None
                                                   else block[:, position[column]])
            elif kind == "datetime":
                times = pd.to_datetime(frame[column], errors="coerce").dt
                for part in self.datetime_parts_[column]:
                    out[self.output_names_[f"{column}.{part}"]] = getattr(times, part).to_numpy(dtype="float64")
            else:
                out[self.output_names_[column]] = self._categorical(column, frame[column])
        return pd.DataFrame(out)

    def _categorical(self, column: str, series: pd.Series) -> pd.Categorical:
        """``series`` as codes of the categories seen at fit (unseen and missing values: NaN)."""
        cache = self.__dict__.setdefault("_dtypes", {})  # not in older pickles: built on first use
        dtype = cache.get(column)
        if dtype is None:
            dtype = cache[column] = pd.CategoricalDtype(self.categories_[column])
        if isinstance(series.dtype, pd.CategoricalDtype):  # recoded by value, no per-row work
            if series.cat.categories.equals(dtype.categories) and not series.cat.ordered:
                return series.array
            return series.cat.set_categories(dtype.categories).cat.as_unordered().array
        return pd.Categorical(series if series.dtype == object else series.astype(object), dtype=dtype)

    def _sparse_transform(self, X: Any) -> Any:
        """CSR rows for a model fitted on a sparse matrix: a sparse matrix, or a dense table of its columns."""
        if sparse.is_sparse(X) and not isinstance(X, pd.DataFrame):
            return sparse.to_csr(X, n_features=len(self.input_columns_))
        frame = to_frame(X, columns=self.input_columns_)
        missing = [c for c in self.input_columns_ if c not in frame.columns]
        if missing:
            raise InputError(f"X is missing column(s) {missing[:5]} of the sparse matrix the model was fitted on; pass "
                             "a sparse matrix or a table with its columns.")
        frame = frame[self.input_columns_]
        if sparse.is_sparse_frame(frame):
            return sparse.to_csr(frame)
        return sparse.to_csr(np.column_stack([_as_float(frame[c], c) for c in self.input_columns_]))

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.fit(X, y).transform(X)


def _as_float(series: pd.Series, column: str) -> pd.Series:
    try:
        values = pd.to_numeric(series, errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise InputError(
            f'Column "{column}" was numeric at fit but holds non-numeric values now ({exc}); pass numbers there.'
        ) from exc
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        raise infinite_values(f'Column "{column}" holds', int(infinite.sum()), int(np.flatnonzero(infinite)[0]),
                              INFINITE_FEATURES)
    return values


def _float_block(frame: pd.DataFrame, columns: list[str]) -> np.ndarray | None:
    """``columns`` as one float64 array (rows x columns: a tenth of the time of converting column by column on
    1,000 rows x 30 columns), or None where one of them must be judged alone (not a number now, or an infinite
    value: ``_as_float`` names the column)."""
    block = frame[columns]
    if not all(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype) for dtype in block.dtypes):
        return None
    values = block.to_numpy(dtype="float64", na_value=np.nan)
    return None if np.isinf(values).any() else values


def _datetime_parts(series: pd.Series) -> pd.DataFrame:
    accessor = series.dt
    return pd.DataFrame({part: getattr(accessor, part) for part in DATETIME_PARTS})


def fingerprint(X: Any, y: pd.Series) -> str:
    """A short content hash of the training data (rows, columns and target), for model lineage."""
    import hashlib

    if sparse.is_sparse(X):
        return sparse.fingerprint(X, pd.util.hash_pandas_object(y.astype(object), index=False).to_numpy().tobytes())
    digest = hashlib.sha256()
    digest.update(",".join(map(str, X.columns)).encode())
    digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(y.astype(object), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def summarize(X: Any, preprocessor: TabularPreprocessor, y: pd.Series | None, classification: bool) -> DataSummary:
    """Summarise transformed training data (a DataFrame or a CSR matrix) for spaces and validation."""
    counts = {str(k): int(v) for k, v in y.value_counts().items()} if (classification and y is not None) else {}
    is_sparse = sparse.is_sparse(X)
    return DataSummary(
        n_rows=X.shape[0],
        n_features=X.shape[1],
        n_categorical=len(preprocessor.categorical_features_),
        n_classes=len(counts),
        class_counts=counts,
        sparse=is_sparse,
        density=sparse.density(X) if is_sparse else 1.0,
    )
