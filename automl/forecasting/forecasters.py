"""Forecasters with a scikit-learn face: ``fit`` on history rows, ``predict`` the rows that follow.

Their rows are ``ForecastFrame`` output: a series code, a step, calendar features and known covariates.
``fit`` learns each series from its rows (any order; a missing target inside the history is interpolated);
``predict`` returns, for each row, the forecast ``step - last step`` ahead of its series' end.
``StatsForecaster`` fits one statistical model per series (statsforecast); ``LagForecaster`` fits one
global regressor across all series on lag, rolling-window, calendar and series features (mlforecast).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import InputError
from automl.forecasting.frame import SERIES, STEP

logger = logging.getLogger(__name__)


def histories(X: pd.DataFrame, y: np.ndarray) -> dict[int, np.ndarray]:
    """Each series' target in step order, with missing values inside the history interpolated."""
    frame = pd.DataFrame({SERIES: X[SERIES].to_numpy(), STEP: X[STEP].to_numpy(), "y": np.asarray(y, dtype=float)})
    out: dict[int, np.ndarray] = {}
    for code, part in frame.sort_values([SERIES, STEP], kind="stable").groupby(SERIES, sort=True):
        values = part["y"].interpolate(limit_direction="both").to_numpy()
        if np.isnan(values).all():
            raise InputError(f"series {code} has no target values; drop it or give it a history.")
        out[int(code)] = values
    return out


def horizons(X: pd.DataFrame, last_step: dict[int, int]) -> np.ndarray:
    """Steps ahead (1, 2, ...) of each row past its series' end."""
    codes = X[SERIES].to_numpy()
    ahead = X[STEP].to_numpy() - np.array([last_step.get(int(c), -10**9) for c in codes])
    if (ahead < 1).any():
        raise InputError("X has rows at or before the end of their series' history; predict forecasts future "
                         "timestamps only (pass the timestamps after the training data).")
    return ahead


class Forecaster:
    """The common part: per-series histories, rows -> steps ahead, forecasts picked per row."""

    season: int = 1

    def fit(self, X: pd.DataFrame, y: Any, deadline: float | None = None) -> bool:
        self.histories_ = histories(X, np.asarray(y, dtype=float))
        self.last_step_ = {code: int(X[STEP][X[SERIES] == code].max()) for code in self.histories_}
        return self._fit(X, np.asarray(y, dtype=float), deadline)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._predict(X, None)[0]

    def predict_interval(self, X: pd.DataFrame, coverage: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's own interval at ``coverage``, or None where it has none."""
        mean, bounds = self._predict(X, coverage)
        return bounds

    def _fit(self, X: pd.DataFrame, y: np.ndarray, deadline: float | None) -> bool:
        raise NotImplementedError

    def _predict(self, X: pd.DataFrame, coverage: float | None) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        raise NotImplementedError


def min_length(season: int) -> int:
    """History a seasonal statistical model needs; shorter series get the seasonal naive forecast."""
    return 2 * season + 2 if season > 1 else 4


class StatsForecaster(Forecaster):
    """One statsforecast model per series, built by the family ``family`` from ``config`` and the season length."""

    libraries = ("statsforecast", "coreforecast")  # what serving the fitted model needs

    def __init__(self, family: str, config: dict[str, Any], season: int) -> None:
        self.family, self.config, self.season = family, dict(config), season

    def _fit(self, X: pd.DataFrame, y: np.ndarray, deadline: float | None) -> bool:
        from statsforecast.models import SeasonalNaive

        self.models_: dict[int, Any] = {}
        self.fallbacks_ = 0
        panel = len(self.histories_) > 1
        completed = True
        for code, values in self.histories_.items():
            naive = SeasonalNaive(season_length=max(1, min(self.season, len(values) - 1)))
            if deadline is not None and time.monotonic() > deadline:  # the rest get the baseline: still a forecaster
                self.models_[code], completed = naive.fit(y=values), False
                continue
            if len(values) < min_length(self.season):
                self.models_[code], self.fallbacks_ = naive.fit(y=values), self.fallbacks_ + 1
                continue
            try:
                self.models_[code] = _adapter(self.family).new_model(self.config, self.season).fit(y=values)
            except Exception:  # noqa: BLE001 - in a panel one series the model cannot fit gets the baseline
                if not panel:
                    raise
                self.models_[code], self.fallbacks_ = naive.fit(y=values), self.fallbacks_ + 1
        if panel and completed and self.fallbacks_ == len(self.histories_):
            raise ValueError(f"{self.family} could fit none of the {len(self.histories_)} series")
        return completed

    def _predict(self, X: pd.DataFrame, coverage: float | None) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        ahead = horizons(X, self.last_step_)
        codes = X[SERIES].to_numpy()
        mean = np.empty(len(X))
        lower, upper = np.empty(len(X)), np.empty(len(X))
        level = None if coverage is None else 100 * coverage
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            model, h = self.models_[int(code)], int(ahead[rows].max())
            if level is None:
                mean[rows] = model.predict(h=h)["mean"][ahead[rows] - 1]
                continue
            try:
                out = model.predict(h=h, level=[level])
            except Exception:  # noqa: BLE001 - models without intervals (naive, drift) say so by raising
                return mean, None
            lo, hi = (next(v for k, v in out.items() if k.startswith(side)) for side in ("lo-", "hi-"))
            mean[rows], lower[rows], upper[rows] = (v[ahead[rows] - 1] for v in (out["mean"], lo, hi))
        return mean, None if level is None else (lower, upper)


class Completions(list):
    """Whether each fit ran to the end; the same list after scikit-learn's clone (which deep-copies params)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "Completions":
        return self


def _adapter(family: str) -> Any:
    from automl.estimators import get_adapter

    return get_adapter(family)


class FitWithDeadline:
    """A regressor whose ``fit`` is its family's fit under the trial's deadline (for mlforecast to call)."""

    def __init__(self, family: str, config: dict[str, Any], context: Any, deadline: float | None,
                 completed: Completions) -> None:
        self.family, self.config, self.context, self.deadline, self.completed = family, config, context, deadline, completed

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {"family": self.family, "config": self.config, "context": self.context, "deadline": self.deadline,
                "completed": self.completed}

    def set_params(self, **params: Any) -> "FitWithDeadline":
        return self

    def fit(self, X: Any, y: Any) -> "FitWithDeadline":
        if self.deadline is not None and time.monotonic() > self.deadline:
            # A direct strategy fits one model per horizon step: once the deadline has passed, the steps left
            # get the training mean (the trial is cut at the deadline either way) instead of a forest each,
            # which held a 20 s job's search 1 s past its end (extra_trees, 611 trees x 20 steps).
            from sklearn.dummy import DummyRegressor

            self.model_ = DummyRegressor().fit(X, y)
            self.completed.append(False)
            return self
        adapter = _adapter(self.family)
        self.model_ = adapter.build(self.config, self.context)
        self.completed.append(bool(adapter.fit(self.model_, X, y, self.deadline)))
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.model_.predict(X), dtype=float)


class LagForecaster(Forecaster):
    """One regressor across all series on lags, a rolling mean, calendar features and the series code."""

    libraries = ("mlforecast", "coreforecast", "utilsforecast")  # what serving the fitted model needs

    def __init__(self, family: str, regression_config: dict[str, Any], context: Any, config: dict[str, Any],
                 season: int, horizon: int) -> None:
        self.family, self.regression_config, self.context = family, regression_config, context
        self.config, self.season, self.horizon = config, season, horizon

    def lags(self, shortest: int) -> list[int]:
        """1..n_lags plus one and two seasons back, within what the shortest history leaves for training."""
        limit = max(1, shortest - self.horizon - 2) if self.config["strategy"] == "direct" else max(1, shortest // 2)
        chosen = set(range(1, int(self.config["n_lags"]) + 1))
        if self.config.get("seasonal_lags", True) and self.season > 1:
            chosen |= {self.season, 2 * self.season}
        return sorted(lag for lag in chosen if lag <= limit) or [1]

    def _fit(self, X: pd.DataFrame, y: np.ndarray, deadline: float | None) -> bool:
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean

        shortest = min(len(v) for v in self.histories_.values())
        lags = self.lags(shortest)
        window = int(self.config.get("rolling_window", 0))
        transforms = {1: [RollingMean(window_size=window)]} if 1 < window < shortest // 2 else {}
        completed = Completions()
        self.exogenous_ = [c for c in X.columns if c not in (SERIES, STEP)]
        regressor = FitWithDeadline(self.family, self.regression_config, self.context, deadline, completed)
        self.model_ = MLForecast(models={"m": regressor}, freq=1,
                                 lags=lags, lag_transforms=transforms, target_transforms=target_transforms(self.config),
                                 num_threads=1)
        frame = self._frame(X, y)
        direct = self.config["strategy"] == "direct"
        self.model_.fit(frame, static_features=["series_code"], dropna=True, max_horizon=self.horizon if direct else None)
        return all(completed)

    def _frame(self, X: pd.DataFrame, y: np.ndarray | None = None) -> pd.DataFrame:
        frame = pd.DataFrame({"unique_id": X[SERIES].to_numpy(), "ds": X[STEP].to_numpy()})
        if y is not None:
            filled = pd.Series(y).groupby(frame["unique_id"].to_numpy()).transform(
                lambda s: s.interpolate(limit_direction="both"))
            frame["y"] = filled.to_numpy()
            frame["series_code"] = frame["unique_id"]
        for column in self.exogenous_:
            frame[column] = X[column].to_numpy()
        return frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)

    def _predict(self, X: pd.DataFrame, coverage: float | None) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        ahead = horizons(X, self.last_step_)
        h = int(ahead.max())
        future = None
        if self.exogenous_:
            future = self._future_exogenous(X, h)
        out = self.model_.predict(h, X_df=future, ids=sorted({int(c) for c in X[SERIES]}))
        forecasts = pd.Series(out["m"].to_numpy(), index=pd.MultiIndex.from_arrays([out["unique_id"], out["ds"]]))
        keys = pd.MultiIndex.from_arrays([X[SERIES].to_numpy(), X[STEP].to_numpy()])
        return forecasts.reindex(keys).to_numpy(dtype=float), None

    def _future_exogenous(self, X: pd.DataFrame, h: int) -> pd.DataFrame:
        """The exogenous columns for every step up to ``h`` of the series asked for (rows not given repeat the nearest)."""
        given = self._frame(X)
        rows = []
        for code in given["unique_id"].unique():
            steps = np.arange(self.last_step_[int(code)] + 1, self.last_step_[int(code)] + 1 + h)
            rows.append(pd.DataFrame({"unique_id": code, "ds": steps}))
        grid = pd.concat(rows, ignore_index=True)
        merged = grid.merge(given, on=["unique_id", "ds"], how="left")
        merged[self.exogenous_] = merged.groupby("unique_id")[self.exogenous_].transform(lambda s: s.ffill().bfill())
        return merged


def target_transforms(config: dict[str, Any]) -> list[Any]:
    """The target transform the configuration names (none, difference, log, per-series scaling)."""
    from mlforecast.target_transforms import Differences, GlobalSklearnTransformer, LocalStandardScaler
    from sklearn.preprocessing import FunctionTransformer

    name = config.get("target_transform", "none")
    if name == "difference":
        return [Differences([1])]
    if name == "scale":
        return [LocalStandardScaler()]
    if name == "log":
        return [GlobalSklearnTransformer(FunctionTransformer(func=np.log1p, inverse_func=np.expm1))]
    return []


__all__ = ["Forecaster", "LagForecaster", "StatsForecaster", "histories", "horizons", "min_length"]
