"""Time-series forecasting: one series or a panel, rolling-origin backtests, scaled errors, intervals.

Rows stay the user's rows. ``fit_data`` maps each row to its series and to its step in that series' own
calendar (``automl.forecasting.calendar``); the backtest windows are cut per series from its end: window
``w`` of ``W`` validates the ``horizon`` steps after its origin ``n - (W - w) * horizon`` and trains on the
steps before it, so no window sees its own future. Series too short for a window stay on the training side
(a statistical model gives them the seasonal naive forecast). The shipped model's intervals are the chosen
model's own where it has them, else conformal from the best trial's backtest errors.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl.errors import InputError
from automl.forecasting.calendar import infer_frequency
from automl.forecasting.forecasters import min_length
from automl.forecasting.frame import ForecastFrame, series_keys, time_values
from automl.forecasting.shipped import backtest_rows, fitted_forecaster
from automl.forecasting import shipped
from automl.forecasting.metrics import seasonal_naive_scale, series_scales
from automl.tasks.base import EncodedTarget, Task

if TYPE_CHECKING:
    from automl.estimators import EstimatorAdapter
    from automl.fitdata import FitData, Fold, Split
    from automl.metrics import Metric
    from automl.task import TaskSpec

logger = logging.getLogger(__name__)
#: Backtest windows under eval_method="auto": at least AUTO_WINDOWS (fewer only when the history is too short), more
#: where the last BACKTEST_SHARE of the longest series' history holds more horizons, up to MAX_AUTO_WINDOWS.
AUTO_WINDOWS, MAX_AUTO_WINDOWS, BACKTEST_SHARE = 3, 10, 0.4


def auto_windows(length: int, horizon: int) -> int:
    """Backtest windows for eval_method="auto" on a history of ``length`` steps (the longest series').

    Three windows of a random walk's forecasts (msft_close, horizon 10) were beaten on all three by an
    extra-trees trial that lost to the naive forecast on the test steps after them: the more trials a search
    runs, the more windows its choice needs not to fit their noise.
    """
    return max(AUTO_WINDOWS, min(MAX_AUTO_WINDOWS, int(BACKTEST_SHARE * length) // horizon))


class ForecastTask(Task):
    kind = metric_kind = estimator_kind = "forecast"
    default_metric = "mase"
    prediction = "forecast"
    missing_target_ok = True
    stacks = False  # a second level would need out-of-fold forecasts per horizon step: weights on forecasts only
    fold_models_ship = False  # a window's model forecasts from the window's origin, not from the end of the data
    #: the shipped forecast is the mean of the 5 best trials' within 1.3 x the best's backtest loss: on a few backtest
    #: windows, greedy weights and the choice of one trial fit the windows' noise (benchmarks/README.md)
    combine_best, combine_within = 5, 1.3
    sparse_input = False
    latency_per_row = False

    def check_target(self, y: pd.Series, spec: "TaskSpec") -> None:
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise InputError(f'task="forecast" needs a numeric target, but y has dtype {y.dtype}; convert it first.')

    def complete(self, spec: "TaskSpec", X: pd.DataFrame) -> "TaskSpec":
        """The spec with its forecasting fields checked and the season inferred from the frequency."""
        if spec.time_column is None:
            raise InputError('task="forecast" needs time_column: pass fit(X, y, time_column="ds", horizon=...) '
                             "naming the column of timestamps.")
        if isinstance(spec.horizon, bool) or not isinstance(spec.horizon, (int, np.integer)) or spec.horizon < 1:
            raise InputError(f"horizon={spec.horizon!r} is invalid; pass the number of future steps to forecast "
                             "(a positive integer, e.g. horizon=12).")
        for column in spec.known_covariates:
            if column not in X.columns or column in (spec.time_column, *spec.series_columns):
                raise InputError(f"known_covariates names {column!r}, which is not a covariate column of X; "
                                 "pass columns of X other than the time and series columns.")
        season = spec.season
        if season is None:
            season = ForecastFrame(spec.time_column, spec.series_columns, (), int(spec.horizon)).fit(X).season
        elif isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
            raise InputError(f"season={season!r} is invalid; pass the seasonal period in steps (1 for none, 12 for "
                             "monthly data with a yearly cycle).")
        return replace(spec, season=int(season), horizon=int(spec.horizon))

    def fit_data(self, X: pd.DataFrame, target: EncodedTarget, spec: "TaskSpec", groups: Any = None) -> "FitData":
        from automl.fitdata import FitData

        if groups is not None:
            raise InputError('groups was passed, but task="forecast" does not use groups; drop it '
                             "(a panel's series are named by series_id_column).")
        times, keys = time_values(X, spec.time_column), series_keys(X, spec.series_columns)  # type: ignore[arg-type]
        frame = pd.DataFrame({"key": keys, "time": times})
        duplicated = frame.duplicated(["key", "time"])
        if duplicated.any():
            first = frame[duplicated].iloc[0]
            where = f" in series {first['key']!r}" if first["key"] else ""
            raise InputError(f"{spec.time_column}={pd.Timestamp(first['time']) if np.issubdtype(times.dtype, np.datetime64) else first['time']} "
                             f"occurs more than once{where} ({int(duplicated.sum())} duplicate row(s)); "
                             "aggregate or drop duplicates so each series has one row per timestamp.")
        steps = frame.groupby("key")["time"].rank(method="first").to_numpy(dtype=np.int64) - 1
        codes = pd.Categorical(keys, categories=sorted(set(keys.tolist()))).codes.astype(np.int64)
        self._report_calendar(frame, spec)
        return FitData(X, target.values, time=steps, series=codes)

    def _report_calendar(self, frame: pd.DataFrame, spec: "TaskSpec") -> None:
        lengths = frame.groupby("key").size()
        needed = min_length(int(spec.season or 1)) + int(spec.horizon or 1)
        short = lengths[lengths < needed]
        if len(short) == len(lengths):
            name = f"series {short.index[0]!r}" if short.index[0] else "the series"
            raise InputError(f"{name} has {int(short.iloc[0])} steps, too short to forecast horizon={spec.horizon} with "
                             f"season={spec.season}: it needs at least {needed} (two seasons and two steps of history "
                             f"plus one horizon to validate); pass a longer history or a smaller horizon"
                             f"{' or season=1' if (spec.season or 1) > 1 else ''}.")
        if len(short):
            logger.warning("%d of %d series are shorter than %d steps: they are not backtested and get the seasonal "
                           "naive forecast from the statistical families.", len(short), len(lengths), needed)
        irregular = [key for key, part in frame.groupby("key")["time"]
                     if not infer_frequency(np.sort(part.to_numpy())).regular]
        if irregular:
            logger.info("%d series have gaps in their calendar (e.g. missing holidays); the models work on each "
                        "series' own step index, with the gaps closed up.", len(irregular))

    def splits(self, data: "FitData", method: str, spec: "TaskSpec", seed: int) -> list["Split"]:
        assert data.time is not None and data.series is not None  # set by fit_data
        horizon, steps, series = int(spec.horizon or 1), data.time, data.series
        lengths = np.bincount(series)
        history = min_length(int(spec.season or 1))
        longest = int(lengths.max())
        most = (longest - history) // horizon  # a shorter series is validated only in the windows its history allows
        wanted = (1 if method == "holdout" else spec.n_splits if spec.eval_method == "cv"
                  else auto_windows(longest, horizon))
        windows = max(1, min(wanted, most))
        ends = lengths[series]
        out = []
        for w in range(windows):
            origin = ends - (windows - w) * horizon
            train = np.flatnonzero(steps < origin)
            val = np.flatnonzero((steps >= origin) & (steps < origin + horizon) & (origin >= history))
            out.append((train, val))
        return out

    def make_preprocessor(self, spec: "TaskSpec") -> ForecastFrame:
        return ForecastFrame(spec.time_column, spec.series_columns, spec.known_covariates, int(spec.horizon or 1))  # type: ignore[arg-type]

    def job_params(self, spec: "TaskSpec", splits: list["Split"]) -> dict[str, Any]:
        return {"time_column": spec.time_column, "horizon": spec.horizon, "season": spec.season,
                "series_id_column": ",".join(spec.series_columns), "known_covariates": ",".join(spec.known_covariates),
                "backtest_windows": len(splits)}

    def build_options(self, spec: "TaskSpec") -> dict[str, Any]:
        return {"season": int(spec.season or 1), "horizon": int(spec.horizon or 1)}

    def serves(self, adapter: "type[EstimatorAdapter]", auto: bool) -> bool:
        from automl.estimators.forecasters import LAG_FAMILIES, LAG_FAMILIES_IN_AUTO

        if self.estimator_kind in adapter.tasks:
            return adapter.in_auto or not auto
        return adapter.name in (LAG_FAMILIES_IN_AUTO if auto else LAG_FAMILIES)

    def adapter_for(self, adapter: "EstimatorAdapter", spec: "TaskSpec") -> "EstimatorAdapter":
        from automl.estimators.forecasters import GlobalModelAdapter

        if self.estimator_kind in adapter.tasks:
            return adapter
        return GlobalModelAdapter(adapter, int(spec.horizon or 1))

    def score_output(self, metric: "Metric", output: np.ndarray, fold: "Fold") -> float:
        known = ~np.isnan(fold.y_val)
        if not known.any():
            return float("nan")
        if metric.scaled:
            scale = self.scales(fold)
            return float(metric.fn(fold.y_val[known], output[known], scale=scale[known]))
        return float(metric.fn(fold.y_val[known], output[known]))

    def scales(self, fold: "Fold") -> np.ndarray:
        """Each validation row's in-sample seasonal naive error, from its series' training part (cached)."""
        if "scale_val" not in fold.extras:
            scale = series_scales(fold.y_train, fold.extras["series_train"], fold.extras["time_train"],
                                  int(fold.extras.get("season", 1)))
            fold.extras["scale_val"] = np.array([scale.get(int(c), np.nan) for c in fold.extras["series_val"]])
        return fold.extras["scale_val"]

    def result_metrics(self, model: Any) -> dict[str, float]:
        coverage = getattr(model, "backtest_coverage_90", float("nan"))
        return {} if np.isnan(coverage) else {"backtest_coverage_90": float(coverage)}

    def report_data(self, model: Any) -> dict[str, Any] | None:
        """History, the shipped trial's backtest forecasts and the final forecast with its 90% interval, per series."""
        return shipped.report_data(model)

    def input_example(self, X: pd.DataFrame, preprocessor: Any) -> pd.DataFrame:
        """The first future timestamps of the first series, with its ids and last known covariates."""
        return shipped.future_example(X, preprocessor)

    def evaluation_extras(self, model: Any, spec: "TaskSpec", X: pd.DataFrame, y: np.ndarray, features: pd.DataFrame,
                          groups: Any) -> dict[str, Any]:
        """MASE on new rows is scaled by each series' seasonal naive error over the model's whole history."""
        if groups is not None:
            raise InputError('groups was passed, but task="forecast" does not use groups; drop it.')
        season = int(model.task_options.get("season", 1))
        forecaster = fitted_forecaster(model)
        scale = {code: seasonal_naive_scale(values, season) for code, values in forecaster.histories_.items()}
        return {"scale_val": np.array([scale[int(c)] for c in features["series"]])}

    def score(self, metric: Any, model: Any, output: np.ndarray, fold: "Fold",
              config: dict[str, Any] | None = None) -> tuple[float, dict[str, float]]:
        value, logs = super().score(metric, model, output, fold, config)
        logs[f"{getattr(metric, 'log_name', metric.name)}_window{fold.index}"] = value  # each backtest window's own score
        bounds = model.predict_interval(fold.X_val, 0.9) if hasattr(model, "predict_interval") else None
        known = ~np.isnan(fold.y_val)
        if bounds is not None and known.any():
            from automl.forecasting.metrics import coverage

            logs["coverage_90"] = coverage(fold.y_val[known], bounds[0][known], bounds[1][known])
        return value, logs

    def finish_model(self, model: Any, spec: "TaskSpec", data: "FitData", splits: list["Split"], oof: Any,
                     trial: Any = None) -> None:
        """Conformal intervals, the backtest forecasts and the interval's backtest coverage, kept on the model."""
        shipped.learn_from_backtests(model, data, splits, oof, trial)

    def oof_extras(self, spec: "TaskSpec", data: "FitData", splits: list["Split"], rows: np.ndarray) -> dict[str, np.ndarray]:
        return {**super().oof_extras(spec, data, splits, rows),
                "scale_val": backtest_rows(data, splits, int(spec.season or 1))[2][rows]}

    def predict_interval(self, model: Any, X: pd.DataFrame, coverage: float) -> pd.DataFrame:
        """Lower and upper bounds at ``coverage``: the model's own, else conformal from the backtests."""
        return shipped.interval(model, X, coverage)
