"""The shipped forecast model: its intervals, what it keeps of the backtests, its report data and input example.

The forecast task's hooks (``automl.tasks.forecast``) call these; they work on a ``TunedModel`` whose
estimator is a forecaster (or an ensemble of forecasters, which share the history).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl.errors import InputError
from automl.forecasting.frame import series_keys, time_values
from automl.forecasting.intervals import ConformalIntervals
from automl.forecasting.metrics import seasonal_naive_scale, series_scales

if TYPE_CHECKING:
    from automl.fitdata import FitData, Split


def interval(model: Any, X: pd.DataFrame, coverage: float) -> pd.DataFrame:
    """Lower and upper bounds at ``coverage``: the model's own where the backtests chose it
    (``model.interval_source``), else conformal from the backtests."""
    features = model.preprocessor.transform(X)
    mean = np.asarray(model.estimator.predict(features), dtype=float)
    own = None
    if getattr(model, "interval_source", "model") == "model" and hasattr(model.estimator, "predict_interval"):
        own = model.estimator.predict_interval(features, coverage)
    if own is not None:
        return pd.DataFrame({"lower": own[0], "upper": own[1]}, index=X.index)
    conformal = getattr(model, "conformal", None)
    if conformal is None:
        raise InputError("this model kept no backtest errors to build intervals from (its trial's predictions "
                         "were not kept); refit with a time budget that lets the backtests finish.")
    from automl.forecasting.forecasters import horizons

    forecaster = fitted_forecaster(model)
    ahead = horizons(features, forecaster.last_step_)
    history = forecaster.histories_
    season = int(model.task_options.get("season", 1))
    scale = np.array([seasonal_naive_scale(history[int(c)], season) for c in features["series"]])
    width = conformal.half_width(ahead, coverage) * scale
    return pd.DataFrame({"lower": mean - width, "upper": mean + width}, index=X.index)


def learn_from_backtests(model: Any, data: "FitData", splits: list["Split"], oof: Any, trial: Any = None) -> None:
    """Learn the conformal intervals from the shipped trial's backtest forecasts (``oof``, when kept), and
    choose the model's interval source by its 90% coverage on the backtest windows.

    The model's own interval (where its family has one) was measured on each window by the trial; the
    conformal one is measured with each window left out of its own calibration. The one nearer 90% is kept
    (``model.interval_source``: "model" or "conformal"; a tie, or no conformal measure, keeps the model's
    own, and a family without one has conformal intervals whatever this says), with its coverage in
    ``model.backtest_coverage_90``. Also kept: the backtest forecasts (for the report).
    """
    measured = getattr(trial, "metrics", {}).get("coverage_90") if trial is not None else None
    own = float(measured) if measured is not None else float("nan")
    model.interval_source, model.backtest_coverage_90 = "model", own
    if oof is None or data.time is None or data.series is None:
        return
    window, ahead, scale = backtest_rows(data, splits, int(model.task_options.get("season", 1)))
    rows = oof.rows
    errors = np.abs(data.y[rows] - oof.values.astype(float)) / scale[rows]
    keep = np.isfinite(errors)
    model.conformal = ConformalIntervals(errors[keep], ahead[rows][keep], window[rows][keep])
    conformal = model.conformal.backtest_coverage(0.9)
    if np.isnan(own) or (not np.isnan(conformal) and abs(conformal - 0.9) < abs(own - 0.9)):
        model.interval_source, model.backtest_coverage_90 = "conformal", conformal
    times = time_values(data.X, model.preprocessor.time_column)
    model.backtest_ = pd.DataFrame({"series": data.series[rows], "time": times[rows], "forecast": oof.values,
                                    "window": window[rows]})


def report_data(model: Any, max_series: int = 4) -> dict[str, Any] | None:
    """History, the shipped trial's backtest forecasts and the final forecast with its 90% interval, per series."""
    forecaster = fitted_forecaster(model)
    frame, history = model.preprocessor, forecaster.histories_
    backtest = getattr(model, "backtest_", None)
    out = []
    for code in range(min(max_series, len(frame.series_))):
        times = frame.histories_[code].times
        future = pd.DataFrame({frame.time_column: frame.future_times(code, frame.horizon)})
        for column, value in zip(frame.series_columns, frame.series_[code].split("|")):
            future[column] = value
        for column in frame.known_covariates:
            future[column] = np.nan  # unknown here: the chart shows the forecast without covariates
        entry: dict[str, Any] = {"name": frame.series_[code] or "series", "history_t": times,
                                 "history_y": history[code]}
        if not frame.known_covariates:
            bands = interval(model, future, 0.9)
            entry.update(future_t=future[frame.time_column].to_numpy(), mean=model.predict(future),
                         lower=bands["lower"].to_numpy(), upper=bands["upper"].to_numpy())
        if backtest is not None:
            own = backtest[backtest["series"] == code].sort_values("time")
            entry.update(backtest_t=own["time"].to_numpy(), backtest_y=own["forecast"].to_numpy())
        out.append(entry)
    return {"kind": "forecast", "series": out, "n_series": len(frame.series_)}


def future_example(X: pd.DataFrame, preprocessor: Any) -> pd.DataFrame:
    """The first future timestamps of the first series, with its ids and last known covariates."""
    code = 0
    times = preprocessor.future_times(code, min(5, preprocessor.horizon))
    key = preprocessor.series_[code]
    keys = series_keys(X, preprocessor.series_columns)
    last = X[keys == key].iloc[[-1] * len(times)].reset_index(drop=True)
    example = last[[c for c in preprocessor.input_columns_ if c in X.columns]].copy()
    example[preprocessor.time_column] = times
    return example


def backtest_rows(data: "FitData", splits: list["Split"], season: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of the fit data: its backtest window (-1: none), steps ahead of the window's origin, and its
    series' in-sample seasonal naive error over that window's training part."""
    assert data.time is not None and data.series is not None  # set by fit_data
    window = np.full(len(data), -1)
    ahead = np.zeros(len(data), dtype=np.int64)
    scale = np.full(len(data), np.nan)
    for w, (train, val) in enumerate(splits):
        window[val] = w
        scales = series_scales(data.y[train], data.series[train], data.time[train], season)
        origin = {}
        for code in np.unique(data.series[val]):
            past = train[data.series[train] == code]
            origin[int(code)] = int(data.time[past].max()) if len(past) else -1
            scale[val[data.series[val] == code]] = scales.get(int(code), np.nan)
        ahead[val] = data.time[val] - np.array([origin[int(c)] for c in data.series[val]])
    return window, ahead, scale


def fitted_forecaster(model: Any) -> Any:
    """The shipped model's forecaster (an ensemble's first member: its members share the history)."""
    members = getattr(model.estimator, "members", None)
    return members[0][0] if members else model.estimator
