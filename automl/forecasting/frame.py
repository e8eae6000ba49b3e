"""The forecast task's feature transform: each row's series and step, calendar features, known covariates.

Fitted on a history (the training rows of a backtest window, or every row for the shipped model), it
maps any later rows of the same series to their steps: a row at a known timestamp gets that timestamp's
step, a row after the series' end the next steps in order. Rows that cannot be placed (an unknown series,
a timestamp inside the history that the history lacks, more future steps than the horizon, a regular
calendar's next timestamps skipped) are refused with one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl.data import safe_name
from automl.errors import InputError
from automl.forecasting.calendar import Frequency, calendar_columns, infer_frequency, next_timestamps

SERIES, STEP = "series", "step"


def time_values(X: pd.DataFrame, column: str) -> np.ndarray:
    """The time column as datetime64[ns] (or int64 steps for an integer column), checked."""
    if column not in X.columns:
        raise InputError(f"time_column={column!r} is not a column of X (columns: {list(X.columns)[:10]}); "
                         "pass the name of the column holding the timestamps.")
    values = X[column]
    if pd.api.types.is_integer_dtype(values):
        return values.to_numpy(dtype=np.int64)
    try:
        parsed = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise InputError(f"time_column={column!r} holds values that are not timestamps ({exc}); "
                         "pass dates, datetimes or integer steps.") from exc
    if parsed.isna().any():
        raise InputError(f"time_column={column!r} has {int(parsed.isna().sum())} missing timestamp(s); "
                         "drop those rows or fill them.")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed.to_numpy(dtype="datetime64[ns]")


def series_keys(X: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """One key per row naming its series ("" for a single series)."""
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise InputError(f"series_id_column {missing} is not a column of X; pass the column(s) naming each series.")
    if not columns:
        return np.full(len(X), "", dtype=object)
    parts = [X[c].astype(str).to_numpy(dtype=object) for c in columns]
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + "|" + part
    return keys


@dataclass
class SeriesHistory:
    times: np.ndarray  # sorted, distinct
    frequency: Frequency


class ForecastFrame:
    """Rows -> (series code, step, calendar features, known covariates); see the module docstring."""

    def __init__(self, time_column: str, series_columns: tuple[str, ...], known_covariates: tuple[str, ...],
                 horizon: int) -> None:
        self.time_column, self.series_columns = time_column, series_columns
        self.known_covariates, self.horizon = known_covariates, horizon

    def fit(self, X: pd.DataFrame, y: Any = None) -> "ForecastFrame":
        times, keys = time_values(X, self.time_column), series_keys(X, self.series_columns)
        self.series_ = sorted(set(keys.tolist()))
        self.code_of_ = {key: code for code, key in enumerate(self.series_)}
        self.histories_: list[SeriesHistory] = []
        for key in self.series_:
            own = np.unique(times[keys == key])
            self.histories_.append(SeriesHistory(own, infer_frequency(own)))
        longest = max(self.histories_, key=lambda h: len(h.times))
        self.frequency_ = longest.frequency
        self.covariate_categories_ = {c: pd.Categorical(X[c]).categories for c in self.known_covariates
                                      if not pd.api.types.is_numeric_dtype(X[c])}
        self.input_columns_ = [self.time_column, *self.series_columns, *self.known_covariates]
        taken = {SERIES, STEP}  # the features keep the user's names off the estimators (LightGBM refuses "[", ":", ...)
        self.output_names_ = {c: safe_name(f"cov_{c}", taken) for c in self.known_covariates}
        self.categorical_features_: tuple[str, ...] = (SERIES,) if len(self.series_) > 1 else ()
        return self

    @property
    def season(self) -> int:
        return self.frequency_.season

    def transform(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise InputError(f"X must be a DataFrame with the time column {self.time_column!r}; got {type(X).__name__}.")
        missing = [c for c in self.known_covariates if c not in X.columns]
        if missing:
            raise InputError(f"X lacks the known covariate(s) {missing}; pass their values for every row "
                             "(for future rows: the values you expect).")
        times, keys = time_values(X, self.time_column), series_keys(X, self.series_columns)
        codes = np.empty(len(X), dtype=np.int64)
        steps = np.empty(len(X), dtype=np.int64)
        for key in pd.unique(keys):
            rows = np.flatnonzero(keys == key)
            if key not in self.code_of_:
                known = ", ".join(map(repr, self.series_[:5]))
                raise InputError(f"series {key!r} was not seen at fit (known: {known}{', ...' if len(self.series_) > 5 else ''}); "
                                 "a forecast needs the series' history.")
            code = self.code_of_[key]
            codes[rows] = code
            steps[rows] = self._steps(key, self.histories_[code], times[rows])
        frame = pd.DataFrame({SERIES: codes, STEP: steps})
        for name, values in calendar_columns(times, self.frequency_.calendar_features
                                             if np.issubdtype(times.dtype, np.datetime64) else ()).items():
            frame[name] = values
        names = getattr(self, "output_names_", {})
        for column in self.known_covariates:
            values, name = X[column], names.get(column, column)
            if column in self.covariate_categories_:
                frame[name] = pd.Categorical(values, categories=self.covariate_categories_[column]).codes
            else:
                frame[name] = pd.to_numeric(values).to_numpy(dtype=float)
        return frame

    def _steps(self, key: str, history: SeriesHistory, times: np.ndarray) -> np.ndarray:
        """Steps of ``times`` in the series' calendar (known timestamps) or after its end (future ones)."""
        known = history.times
        position = np.searchsorted(known, times)
        inside = position < len(known)
        matched = inside & (known[np.minimum(position, len(known) - 1)] == times)
        name = f"series {key!r}" if key else "the series"
        if (inside & ~matched).any():
            first = times[inside & ~matched][0]
            raise InputError(f"{self.time_column}={_show(first)} of {name} lies inside its history but is not one "
                             "of its timestamps; pass timestamps that follow the training data.")
        steps = position.copy()
        future = ~inside
        if future.any():
            new = np.unique(times[future])
            if len(new) > self.horizon:
                raise InputError(f"X has {len(new)} future timestamps for {name}, but the model forecasts "
                                 f"horizon={self.horizon} steps; pass at most {self.horizon} per series.")
            if history.frequency.regular and len(known) > 1:
                expected = next_timestamps(known[-1], history.frequency, len(new))
                if not np.array_equal(new, expected.astype(new.dtype)):
                    raise InputError(f"the future timestamps of {name} do not follow the training data: it ends at "
                                     f"{_show(known[-1])} ({history.frequency.alias}), so the next are "
                                     f"{', '.join(_show(t) for t in expected[:3])}, ...; got {', '.join(_show(t) for t in new[:3])}.")
            steps[future] = len(known) - 1 + 1 + np.searchsorted(new, times[future])
        return steps

    def last_steps(self) -> np.ndarray:
        """Each series' last step in the history, by code."""
        return np.array([len(h.times) - 1 for h in self.histories_], dtype=np.int64)

    def future_times(self, code: int, count: int) -> np.ndarray:
        """The next ``count`` timestamps of series ``code`` (its frequency's; for reports and the CLI)."""
        history = self.histories_[code]
        return next_timestamps(history.times[-1], history.frequency, count)


def _show(value: Any) -> str:
    if isinstance(value, np.datetime64):
        stamp = pd.Timestamp(value)
        return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
    return str(value)


__all__ = ["ForecastFrame", "SERIES", "STEP", "series_keys", "time_values"]
