"""Input checks and the feature transform learned at fit and replayed at predict."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import InputError

DATETIME_PARTS = ("year", "month", "day", "day_of_week", "day_of_year", "hour", "minute", "second")


def to_frame(X: Any, parameter: str = "X", columns: list[str] | None = None) -> pd.DataFrame:
    """Return ``X`` as a DataFrame with string column names (numpy gets x0, x1, ...)."""
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        try:
            array = np.asarray(X)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is bad input
            raise InputError(f"{parameter} cannot be read as a table ({exc}); pass a pandas DataFrame or a 2-D array.") from exc
        if array.ndim != 2:
            raise InputError(f"{parameter} has {array.ndim} dimension(s); pass a 2-D table (rows x features).")
        if columns is not None and len(columns) != array.shape[1]:  # scikit-learn's n_features_in_ message, and what to do
            raise InputError(f"{parameter} has {array.shape[1]} features, but AutoML is expecting {len(columns)} features "
                             f"as input; pass the columns it was fitted on, in this order: {columns}.")
        names = columns if columns is not None else [f"x{i}" for i in range(array.shape[1])]
        frame = pd.DataFrame(array, columns=names)
    if frame.shape[1] == 0:
        raise InputError(f"{parameter} has no columns; pass at least one feature column.")
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise InputError(f"{parameter} has duplicated column names {duplicated}; rename them to be unique.")
    return frame


def check_xy(X: Any, y: Any, allow_missing_target: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Validate training data: non-empty, same length, no missing targets (unless the task allows them)."""
    frame = to_frame(X)
    if len(frame) == 0:
        raise InputError("X is empty (0 rows); pass at least a few rows of training data.")
    target = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy(), name="y")
    if target.ndim != 1:
        raise InputError("y must be one-dimensional; pass a Series or 1-D array of targets.")
    if len(target) != len(frame):
        raise InputError(f"X has {len(frame)} rows but y has {len(target)}; pass one target per row.")
    missing = int(target.isna().sum())
    if missing and not allow_missing_target:
        raise InputError(f"y has {missing} missing value(s); drop those rows or fill the target before fit.")
    return frame.reset_index(drop=True), target.reset_index(drop=True)


def check_features(frame: pd.DataFrame, y: Any) -> None:
    """Training columns MLflow can name, and no copy of the target among them."""
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

    def fit(self, X: pd.DataFrame, y: Any = None) -> "TabularPreprocessor":
        """Learn column kinds, category vocabularies and varying date parts from ``X`` (``y`` is not used)."""
        self.input_columns_: list[str] = list(X.columns)
        self.kinds_: dict[str, str] = {}
        self.categories_: dict[str, list[Any]] = {}
        self.datetime_parts_: dict[str, list[str]] = {}
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

    def transform(self, X: Any) -> pd.DataFrame:
        frame = to_frame(X, columns=self.input_columns_)
        missing = [c for c in self.input_columns_ if c not in frame.columns]
        if missing:
            raise InputError(
                f"X is missing column(s) {missing} that the model was fitted on; pass all of: {self.input_columns_}."
            )
        out: dict[str, pd.Series] = {}
        for column in self.input_columns_:
            series = frame[column].reset_index(drop=True)
            kind = self.kinds_[column]
            if kind == "numeric":
                out[self.output_names_[column]] = _as_float(series, column)
            elif kind == "datetime":
                parts = _datetime_parts(pd.to_datetime(series, errors="coerce"))
                for part in self.datetime_parts_[column]:
                    out[self.output_names_[f"{column}.{part}"]] = parts[part].astype("float64")
            else:
                known = self.categories_[column]
                values = series.astype(object)
                out[self.output_names_[column]] = values.where(values.isin(known)).astype(pd.CategoricalDtype(known))
        return pd.DataFrame(out)

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(X, y).transform(X)


def _as_float(series: pd.Series, column: str) -> pd.Series:
    try:
        return pd.to_numeric(series, errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise InputError(
            f'Column "{column}" was numeric at fit but holds non-numeric values now ({exc}); pass numbers there.'
        ) from exc


def _datetime_parts(series: pd.Series) -> pd.DataFrame:
    accessor = series.dt
    return pd.DataFrame({part: getattr(accessor, part) for part in DATETIME_PARTS})


def fingerprint(X: pd.DataFrame, y: pd.Series) -> str:
    """A short content hash of the training data (rows, columns and target), for model lineage."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(",".join(map(str, X.columns)).encode())
    digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(y.astype(object), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def summarize(X: pd.DataFrame, preprocessor: TabularPreprocessor, y: pd.Series | None, classification: bool) -> DataSummary:
    """Summarise transformed training data for spaces and validation."""
    counts = {str(k): int(v) for k, v in y.value_counts().items()} if (classification and y is not None) else {}
    return DataSummary(
        n_rows=len(X),
        n_features=X.shape[1],
        n_categorical=len(preprocessor.categorical_features_),
        n_classes=len(counts),
        class_counts=counts,
    )
