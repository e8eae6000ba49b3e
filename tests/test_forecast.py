"""Forecasting through the Python API: one series and a panel, backtests without look-ahead, intervals, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from statsforecast.utils import AirPassengersDF

from automl import AutoML, InputError
from automl.fitdata import FitData
from automl.forecasting.metrics import seasonal_naive_scale
from automl.task import TaskSpec
from automl.tasks import get_task

HORIZON = 12


def quick(**kwargs: object) -> AutoML:
    params = {"task": "forecast", "time_budget": None, "max_trials": 12, "tracking": False, "seed": 0, "n_jobs": 1}
    params.update(kwargs)
    return AutoML(**params)  # type: ignore[arg-type]


def test_mase_is_the_error_scaled_by_the_in_sample_seasonal_naive_error() -> None:
    history = np.array([1.0, 2, 3, 5, 4, 6])
    assert seasonal_naive_scale(history, 2) == pytest.approx(np.mean([2, 3, 1, 1]))
    from automl.forecasting.metrics import mase

    assert mase(np.array([10.0, 12]), np.array([11.0, 10]), np.array([2.0, 2])) == pytest.approx(0.75)


@pytest.fixture(scope="module")
def air() -> pd.DataFrame:
    """The monthly airline passengers 1949-1960 (shipped in statsforecast): trend and a yearly season."""
    return AirPassengersDF[["ds", "y"]].assign(ds=lambda f: pd.to_datetime(f["ds"]))


@pytest.fixture(scope="module")
def air_model(air: pd.DataFrame) -> AutoML:
    train = air.iloc[:-HORIZON]
    return quick(max_trials=14).fit(train[["ds"]], train["y"], time_column="ds", horizon=HORIZON)


def test_one_series_forecast_contract(air: pd.DataFrame, air_model: AutoML) -> None:
    future, actual = air[["ds"]].iloc[-HORIZON:], air["y"].iloc[-HORIZON:].to_numpy()
    shuffled = future.sample(frac=1.0, random_state=0)
    forecast = air_model.predict(shuffled)
    assert forecast.shape == (HORIZON,)
    order = np.argsort(shuffled.index.to_numpy())
    assert np.allclose(forecast[order], air_model.predict(future))  # in X_future's row order
    board = air_model.leaderboard()
    assert board.iloc[-1:].shape[0] and "snaive" in set(board["estimator"])  # the baseline is always there
    assert air_model.study_.trials[0].estimator == "snaive"  # and evaluated first
    season = air_model.task_.season
    assert season == 12 and air_model.task_.horizon == HORIZON
    history = air["y"].iloc[:-HORIZON].to_numpy()
    naive = history[-season:][np.arange(HORIZON) % season]
    scale = seasonal_naive_scale(history, season)
    ours, baseline = np.mean(np.abs(forecast[order] - actual)) / scale, np.mean(np.abs(naive - actual)) / scale
    assert ours < baseline  # the tuned model beats the seasonal naive forecast on the held-out year
    assert air_model.best_config_ and air_model.best_estimator_ in set(board["estimator"])


def test_intervals_bound_the_forecast(air: pd.DataFrame, air_model: AutoML) -> None:
    future = air[["ds"]].iloc[-HORIZON:]
    bands = air_model.predict_interval(future, coverage=0.9)
    forecast = air_model.predict(future)
    assert list(bands.columns) == ["lower", "upper"] and len(bands) == HORIZON
    assert (bands["lower"].to_numpy() <= forecast + 1e-9).all() and (forecast <= bands["upper"].to_numpy() + 1e-9).all()
    narrow = air_model.predict_interval(future, coverage=0.5)
    assert ((narrow["upper"] - narrow["lower"]).to_numpy() <= (bands["upper"] - bands["lower"]).to_numpy() + 1e-9).all()
    with pytest.raises(InputError, match="coverage=1.5"):
        air_model.predict_interval(future, coverage=1.5)


def test_backtest_windows_train_only_on_the_past(air: pd.DataFrame) -> None:
    task = get_task("forecast")
    spec = task.complete(TaskSpec("forecast", time_column="ds", horizon=HORIZON), air)
    data = task.fit_data(air[["ds"]], task.encode_target(air["y"]), spec)
    splits = task.splits(data, "auto", spec, seed=0)
    assert len(splits) == 4  # 144 months: the last 40% hold four years
    ends = []
    for train, val in splits:
        assert len(val) == HORIZON and data.time[train].max() < data.time[val].min()  # the window's past only
        ends.append(data.time[val].max())
    assert ends == [len(air) - 1 - k * HORIZON for k in (3, 2, 1, 0)]
    assert len(task.splits(data, "holdout", spec, seed=0)) == 1


def test_auto_backtests_take_more_windows_on_longer_histories_up_to_ten() -> None:
    from automl.tasks.forecast import auto_windows

    assert auto_windows(60, 12) == 3  # never fewer than three where the history allows them
    assert auto_windows(200, 10) == 8
    assert auto_windows(750, 10) == auto_windows(5000, 1) == 10


def test_a_short_series_in_a_panel_is_validated_only_in_the_windows_its_history_allows() -> None:
    long = pd.DataFrame({"t": np.arange(100), "s": "long"})
    short = pd.DataFrame({"t": np.arange(20), "s": "short"})
    X = pd.concat([long, short], ignore_index=True)
    task = get_task("forecast")
    spec = TaskSpec("forecast", time_column="t", horizon=5, series_columns=("s",), season=1)
    data = task.fit_data(X, task.encode_target(pd.Series(np.arange(len(X), dtype=float))), spec)
    splits = task.splits(data, "auto", spec, seed=0)
    assert len(splits) == 8  # the longest series' last 40 steps: the short one does not cut the windows to three
    validated = [set(data.series[val].tolist()) for _, val in splits]
    short_code = int(data.series[len(long)])
    # the short series (4 steps of history needed) is validated from the window whose origin leaves it 4 steps
    assert [short_code in codes for codes in validated] == [False, False, False, False, False, True, True, True]
    assert all(short_code not in set(data.series[val]) or
               data.time[train][data.series[train] == short_code].size >= 4 for train, val in splits)


def panel(n_series: int = 3, length: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frames = []
    for s in range(n_series):
        steps = np.arange(length)
        y = 20 * (s + 1) + 5 * np.sin(2 * np.pi * steps / 7 + s) + 0.1 * steps + rng.normal(0, 0.5, length)
        frames.append(pd.DataFrame({"day": pd.date_range("2024-01-01", periods=length, freq="D"),
                                    "store": f"store{s}", "y": y}))
    frame = pd.concat(frames).sample(frac=1.0, random_state=seed).reset_index(drop=True)  # rows in any order
    return frame[["day", "store"]], frame["y"]


@pytest.fixture(scope="module")
def panel_model() -> AutoML:
    X, y = panel()
    return quick(max_trials=10, estimators=["snaive", "ets", "lgbm"]).fit(
        X, y, time_column="day", series_id_column="store", horizon=7)


def test_a_panel_forecasts_each_series_from_its_own_history(panel_model: AutoML) -> None:
    assert panel_model.task_.season == 7  # daily data: a weekly season
    future = pd.DataFrame({"day": list(pd.date_range("2024-03-01", periods=7, freq="D")) * 3,
                           "store": np.repeat(["store2", "store0", "store1"], 7)})
    forecast = panel_model.predict(future)
    levels = {store: forecast[future["store"].to_numpy() == store].mean() for store in ("store0", "store1", "store2")}
    assert levels["store0"] < levels["store1"] < levels["store2"]  # 20, 40, 60 plus trend: each its own level
    with pytest.raises(InputError, match="series 'store9' was not seen at fit"):
        panel_model.predict(future.assign(store="store9"))


@pytest.mark.parametrize("family", ["snaive", "ets", "theta", "arima", "prophet", "lgbm", "xgboost", "rf", "extra_trees", "lr"])
def test_every_forecasting_family_fits_a_panel(family: str) -> None:
    X, y = panel(n_series=2, length=50)
    m = quick(max_trials=2, estimators=[family], eval_method="holdout").fit(
        X, y, time_column="day", series_id_column="store", horizon=5)
    assert m.best_estimator_ == family
    future = pd.DataFrame({"day": list(pd.date_range("2024-02-20", periods=5, freq="D")) * 2,
                           "store": np.repeat(["store0", "store1"], 5)})
    assert np.isfinite(m.predict(future)).all()
    shipped = pickle.loads(pickle.dumps(m))  # what `automl tune` writes and MLflow stores
    assert np.allclose(shipped.predict(future), m.predict(future))
    bands = m.predict_interval(future, 0.8)
    assert np.isfinite(bands.to_numpy()).all() and (bands["lower"] <= bands["upper"]).all()


def test_a_future_planted_in_an_undeclared_column_does_not_improve_the_backtest() -> None:
    """A leaky feature pipeline would use "tomorrow" (tomorrow's target); automl uses only known covariates."""
    X, y = panel(n_series=1, length=80)
    order = np.argsort(X["day"].to_numpy())
    leak = pd.Series(y.to_numpy()[order]).shift(-1).bfill().to_numpy()
    X_leaky = X.copy()
    X_leaky.loc[order, "tomorrow"] = leak
    options = {"time_column": "day", "horizon": 7}
    honest = quick(max_trials=6, estimators=["lgbm", "lr"]).fit(X, y, **options)
    leaky = quick(max_trials=6, estimators=["lgbm", "lr"]).fit(X_leaky, y, **options)
    assert leaky.best_score_ == pytest.approx(honest.best_score_)
    declared = quick(max_trials=6, estimators=["lgbm", "lr"]).fit(X_leaky, y, known_covariates=["tomorrow"], **options)
    assert declared.best_score_ < honest.best_score_  # declared known, its values are used (and here they are the answer)


def test_known_covariates_must_come_with_the_future(panel_model: AutoML) -> None:
    X, y = panel(n_series=1, length=60)
    X = X.assign(promo=np.arange(len(X)) % 2)
    m = quick(max_trials=3, estimators=["lgbm"]).fit(X, y, time_column="day", horizon=7, known_covariates=["promo"])
    future = pd.DataFrame({"day": pd.date_range("2024-03-01", periods=7, freq="D"), "store": "store0"})
    with pytest.raises(InputError, match=r"lacks the known covariate\(s\) \['promo'\]"):
        m.predict(future)
    assert np.isfinite(m.predict(future.assign(promo=1))).all()


def test_trading_days_with_holidays_missing_are_steps_of_their_own_calendar() -> None:
    days = pd.bdate_range("2023-01-02", periods=130).delete([10, 40, 77])  # three holidays
    rng = np.random.default_rng(1)
    y = pd.Series(100 + np.cumsum(rng.normal(0, 1, len(days))))
    m = quick(max_trials=4, estimators=["snaive", "ets"]).fit(pd.DataFrame({"ds": days}), y, time_column="ds", horizon=5)
    assert m.task_.season == 5  # business days
    nxt = pd.bdate_range(days[-1] + pd.offsets.BDay(1), periods=6).delete([2])  # a holiday in the future too
    assert np.isfinite(m.predict(pd.DataFrame({"ds": nxt[:5]}))).all()


def test_a_missing_target_inside_the_history_is_interpolated() -> None:
    X, y = panel(n_series=1, length=60)
    y = y.copy()
    y.iloc[[5, 17, 30]] = np.nan
    m = quick(max_trials=3, estimators=["snaive", "ets", "lgbm"]).fit(X, y, time_column="day", horizon=7)
    assert np.isfinite(m.predict(pd.DataFrame({"day": pd.date_range("2024-03-01", periods=7, freq="D")}))).all()


@pytest.fixture(scope="module")
def monthly_model(air: pd.DataFrame) -> AutoML:
    return quick(max_trials=2, estimators=["snaive"]).fit(air[["ds"]], air["y"], time_column="ds", horizon=HORIZON)


@pytest.mark.parametrize("future, message", [
    (pd.DataFrame({"ds": pd.date_range("1961-01-31", periods=13, freq="ME")}),
     r"13 future timestamps for the series, but the model forecasts horizon=12 steps"),
    (pd.DataFrame({"ds": pd.date_range("1961-03-31", periods=3, freq="ME")}),
     r"do not follow the training data: it ends at 1960-12-31 \(ME\), so the next are 1961-01-31"),
    (pd.DataFrame({"ds": ["1955-03-15"]}), r"lies inside its history but is not one of its timestamps"),
    (pd.DataFrame({"ds": pd.date_range("1960-11-30", periods=2, freq="ME")}), r"at or before the end of their series"),
    (pd.DataFrame({"when": ["1961-01-01"]}), r"time_column='ds' is not a column of X"),
])
def test_bad_futures_get_one_sentence(monthly_model: AutoML, future: pd.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message):
        monthly_model.predict(future)


def test_bad_forecast_input_gets_one_sentence(air: pd.DataFrame) -> None:
    X, y = air[["ds"]], air["y"]
    with pytest.raises(InputError, match='task="forecast" needs time_column'):
        quick().fit(X, y, horizon=12)
    with pytest.raises(InputError, match="horizon=0 is invalid"):
        quick().fit(X, y, time_column="ds", horizon=0)
    with pytest.raises(InputError, match="horizon=None is invalid"):
        quick().fit(X, y, time_column="ds")
    doubled = pd.concat([X, X.iloc[[3]]], ignore_index=True)
    with pytest.raises(InputError, match=r"ds=1949-04-30 00:00:00 occurs more than once \(1 duplicate row"):
        quick().fit(doubled, pd.concat([y, y.iloc[[3]]], ignore_index=True), time_column="ds", horizon=12)
    with pytest.raises(InputError, match=r"the series has 20 steps, too short to forecast horizon=12 with season=12: "
                                         r"it needs at least 38"):
        quick().fit(X.iloc[:20], y.iloc[:20], time_column="ds", horizon=12)
    with pytest.raises(InputError, match=r"groups was passed, but task=\"forecast\" does not use groups"):
        quick().fit(X, y, groups=np.zeros(len(X)), time_column="ds", horizon=12)
    with pytest.raises(InputError, match="known_covariates names 'price', which is not a covariate column"):
        quick().fit(X, y, time_column="ds", horizon=12, known_covariates=["price"])
    with pytest.raises(InputError, match=r"time_column='ds' holds values that are not timestamps"):
        quick().fit(X.assign(ds="soon"), y, time_column="ds", horizon=12)


def test_a_short_series_in_a_panel_falls_back_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    X, y = panel(n_series=3, length=60)
    short = X["store"].to_numpy() != "store2"
    keep = short | (X["day"] >= pd.Timestamp("2024-02-20")).to_numpy()  # store2: 10 days only
    with caplog.at_level("WARNING", logger="automl"):
        m = quick(max_trials=3, estimators=["snaive", "ets"]).fit(X[keep], y[keep], time_column="day",
                                                                   series_id_column="store", horizon=7)
    assert [r.getMessage() for r in caplog.records if "shorter than" in r.getMessage()] == [
        "1 of 3 series are shorter than 23 steps: they are not backtested and get the seasonal naive forecast "
        "from the statistical families."]
    future = pd.DataFrame({"day": pd.date_range("2024-03-01", periods=7, freq="D"), "store": "store2"})
    assert np.isfinite(m.predict(future)).all()


def test_fit_data_steps_follow_each_series_calendar() -> None:
    X = pd.DataFrame({"t": [3, 1, 2, 5, 4, 1, 2, 3, 4, 9], "s": ["a"] * 5 + ["b"] * 5})
    task = get_task("forecast")
    spec = TaskSpec("forecast", time_column="t", horizon=1, series_columns=("s",), season=1)
    data: FitData = task.fit_data(X, task.encode_target(pd.Series(np.arange(10.0))), spec)
    assert data.time.tolist() == [2, 0, 1, 4, 3, 0, 1, 2, 3, 4]  # b's 9 follows its 4: its own step index
    assert data.series.tolist() == [0] * 5 + [1] * 5


def test_the_interval_coverage_on_the_backtests_is_kept_and_the_report_draws_the_forecast(air_model: AutoML) -> None:
    from automl_dashboards import render_report
    from automl_dashboards.record import record_from_automl

    coverage = air_model.pipeline_.backtest_coverage_90
    assert 0.0 <= coverage <= 1.0
    record = record_from_automl(air_model)
    series = record.task_report["series"][0]
    assert len(series["history_y"]) == len(series["history_t"]) == 132
    assert len(series["future_t"]) == HORIZON and (series["lower"] <= series["upper"]).all()
    assert len(series["backtest_t"]) == 4 * HORIZON  # the shipped trial's four windows (132 months)
    page = render_report(record)
    assert "Forecasts" in page and "backtest forecasts" in page and "90% interval" in page


@pytest.mark.parametrize("strategy", ["tpe", "bo", "cfo"])
def test_the_naive_and_drift_baselines_run_right_after_the_seasonal_one_before_any_other_family(
        air: pd.DataFrame, strategy: str) -> None:
    """They cost milliseconds; on a slow machine msft_close's 20 s search ended after each family's first trial,
    before the naive forecast, the one to beat on a random walk, had run."""
    m = quick(max_trials=5, strategy=strategy, estimators=["snaive", "ets", "theta"]).fit(
        air[["ds"]], air["y"], time_column="ds", horizon=HORIZON)
    trials = [(t.estimator, t.config.get("method")) for t in m.study_.trials]
    assert trials[:4] == [("snaive", "seasonal_naive"), ("snaive", "naive"), ("snaive", "drift"), ("ets", None)]
    narrowed = {"snaive": {"method": {"type": "categorical", "choices": ["seasonal_naive", "drift"]}}}
    m = quick(max_trials=3, strategy=strategy, estimators=["snaive", "ets"], search_space=narrowed).fit(
        air[["ds"]], air["y"], time_column="ds", horizon=HORIZON)
    assert [t.config.get("method") for t in m.study_.trials] == ["seasonal_naive", "drift", None]  # naive is not in it


def test_the_interval_nearer_90_percent_on_the_backtests_is_the_one_shipped(air: pd.DataFrame) -> None:
    train, future = air.iloc[:-HORIZON], air[["ds"]].iloc[-HORIZON:]
    m = quick(max_trials=4, ensemble=False, estimators=["ets"]).fit(
        train[["ds"]], train["y"], time_column="ds", horizon=HORIZON)
    model = m.pipeline_
    own, conformal = m.best_trial_.metrics["coverage_90"], model.conformal.backtest_coverage(0.9)
    assert model.interval_source == ("conformal" if abs(conformal - 0.9) < abs(own - 0.9) else "model")
    assert model.backtest_coverage_90 == (conformal if model.interval_source == "conformal" else own)
    features = model.preprocessor.transform(future)
    own_bands = model.estimator.predict_interval(features, 0.9)
    bands = m.predict_interval(future, coverage=0.9)
    same_as_own = np.allclose(bands["lower"], own_bands[0]) and np.allclose(bands["upper"], own_bands[1])
    assert same_as_own == (model.interval_source == "model")
    model.interval_source = "model" if model.interval_source == "conformal" else "conformal"  # the other source
    other = m.predict_interval(future, coverage=0.9)
    assert not np.allclose(other["lower"], bands["lower"])


def test_early_stopping_never_stops_the_baseline(air: pd.DataFrame) -> None:
    m = quick(max_trials=8, early_stop="asha", estimators=["snaive", "lr"]).fit(
        air[["ds"]], air["y"], time_column="ds", horizon=HORIZON)
    statuses = {t.status for t in m.study_.trials}
    baseline = [t for t in m.study_.trials if t.estimator == "snaive"]
    assert "pruned" in statuses and len(baseline) >= 3  # lr trials were stopped (naive and drift were, before)
    assert all(t.status == "ok" and len([k for k in t.metrics if k.startswith("mase_window")]) == 4 for t in baseline)


def test_a_forecast_ships_the_plain_mean_of_its_best_trials_near_the_best_with_intervals(air: pd.DataFrame) -> None:
    train, future = air.iloc[:-HORIZON], air[["ds"]].iloc[-HORIZON:]
    m = quick(max_trials=8, early_stop=None, estimators=["snaive", "ets", "lr"]).fit(
        train[["ds"]], train["y"], time_column="ds", horizon=HORIZON)
    board = m.leaderboard().query("trial_id >= 0")
    losses = {int(t): m.study_.trials[int(t)].loss for t in board["trial_id"]}
    best = min(losses.values())
    near = [t for t in board["trial_id"].head(5) if losses[int(t)] <= 1.3 * best]  # the snaive trial is far behind
    assert len(near) < len(board.head(5)) and len(near) >= 2
    assert m.ensemble_ is not None and sorted(e["trial_id"] for e in m.ensemble_) == sorted(near)
    assert all(e["weight"] == pytest.approx(1 / len(near)) for e in m.ensemble_)  # equal weights, not chosen on windows
    forecast, bands = m.predict(future), m.predict_interval(future, 0.9)
    assert np.isfinite(forecast).all() and ((bands["lower"] <= forecast) & (forecast <= bands["upper"])).all()


def test_a_shipped_forecaster_forecasts_from_the_end_of_the_data_even_without_time_to_refit(air: pd.DataFrame) -> None:
    """A backtest window's model ends where its window began: it is never shipped, even when the budget is gone."""
    train = air.iloc[:-HORIZON]
    m = quick(max_trials=3, estimators=["theta"]).fit(train[["ds"]], train["y"], time_column="ds", horizon=HORIZON)
    assert m.pipeline_.estimator.last_step_ == {0: len(train) - 1}
    assert m.study_.best_model.last_step_ != m.pipeline_.estimator.last_step_  # the fold model ends a window earlier
    assert not get_task("forecast").fold_models_ship


def test_in_a_panel_a_series_the_model_cannot_fit_gets_the_seasonal_naive_forecast() -> None:
    X, y = panel(n_series=2, length=60)
    keep = (X["store"] == "store0").to_numpy() | (X["day"] >= pd.Timestamp("2024-02-13")).to_numpy()  # store1: 17 days
    m = quick(max_trials=1, estimators=["arima"], search_space={"arima": {"auto_order": {"default": False},
                                                                         "P": {"default": 2}, "D": {"default": 1}}})
    m.fit(X[keep], y[keep], time_column="day", series_id_column="store", horizon=7, season=7)
    assert m.best_estimator_ == "arima" and m.pipeline_.estimator.fallbacks_ >= 1


def test_a_statistical_fit_past_its_deadline_is_still_a_forecaster() -> None:
    """Series left when the deadline passes get the seasonal naive forecast, so a cut refit still forecasts."""
    from automl.forecasting.forecasters import StatsForecaster

    X, y = panel(n_series=3, length=60)
    features = get_task("forecast").make_preprocessor(
        TaskSpec("forecast", time_column="day", horizon=7, series_columns=("store",))).fit(X).transform(X)
    model = StatsForecaster("ets", {"model": "ZZZ", "damped": "auto"}, 7)
    assert model.fit(features, y.to_numpy(), deadline=0.0) is False  # long past
    future = pd.DataFrame({"series": np.repeat([0, 1, 2], 7), "step": np.tile(np.arange(60, 67), 3)})
    assert np.isfinite(model.predict(future)).all()


def test_a_statistical_fit_expected_to_end_past_the_deadline_is_not_started(air: pd.DataFrame) -> None:
    """statsforecast fits run in C to their end: once a family's fold took s seconds, it is not started with less left."""
    import time as clock

    from automl.problem import build_problem
    from automl.study import Study, Suggestion

    spec = TaskSpec("forecast", time_column="ds", horizon=HORIZON)
    problem = build_problem(spec, air[["ds"]], air["y"], ["ets"], None, None, 0)
    objective = problem.objective(n_jobs=1)
    study = Study(0)
    trial = study.start(Suggestion("ets", {"model": "ZZZ", "damped": "auto"}))
    assert objective(trial, None).status == "ok" and objective.slowest_fold_s["ets"] > 0
    objective.slowest_fold_s["ets"] = 30.0  # as if one fold took 30 s
    started = clock.monotonic()
    result = objective(trial, clock.monotonic() + 5)
    assert result.status == "timeout" and clock.monotonic() - started < 1.0


def test_a_direct_lag_model_past_its_deadline_fits_no_more_horizon_models(air: pd.DataFrame) -> None:
    """One model per horizon step: once the deadline has passed, the steps left get the training mean, not a forest."""
    from sklearn.dummy import DummyRegressor

    from automl.problem import build_problem
    from automl.study import Study, Suggestion

    spec = TaskSpec("forecast", time_column="ds", horizon=HORIZON)
    problem = build_problem(spec, air[["ds"]], air["y"], ["extra_trees"], None, None, 0)
    objective = problem.objective(n_jobs=1)
    config = {"n_estimators": 600, "max_features": 0.5, "max_leaves": 64, "n_lags": 7, "seasonal_lags": True,
              "rolling_window": 0, "target_transform": "difference", "strategy": "direct"}
    trial = Study(0).start(Suggestion("extra_trees", config))
    result = objective(trial, deadline=0.0)  # long past
    assert result.status == "timeout"
    model, completed = objective.fit_all_rows(trial, deadline=0.0)
    assert completed is False
    fitted = list(model.model_.models_["m"].values())  # mlforecast: horizon step -> fitted regressor
    assert len(fitted) == HORIZON and all(isinstance(step.model_, DummyRegressor) for step in fitted)
    ahead = pd.DataFrame({"ds": pd.date_range(air["ds"].iloc[-1], periods=HORIZON + 1, freq="ME")[1:]})
    assert np.isfinite(model.predict(problem.preprocessor.transform(ahead))).all()


def test_a_trial_that_hangs_past_the_search_deadline_leaves_the_best_trial_its_refit(air: pd.DataFrame) -> None:
    """A forecaster cannot ship a backtest window's model, so the reserve also covers a last trial that runs as
    long past the search deadline as the backend waits for it: the best trial is still refitted on all rows
    (without that room the job shipped its cheapest trial, cut at the deadline)."""
    import time as clock

    from automl.forecasting.metrics import mase

    budget, started, finished = 6.0, clock.monotonic(), []

    def mase_that_hangs_late(X_val, y_val, estimator, labels, X_train, y_train, *args):  # noqa: ANN001, ANN002, ANN202
        if finished and clock.monotonic() - started > 0.5 * budget:  # a slow machine's first trial must not hang
            clock.sleep(3600)  # a metric that never checks the clock, called near the deadline
        prediction = estimator.predict(X_val)
        return mase(y_val, prediction, np.full(len(y_val), float(np.mean(np.abs(np.diff(y_train)))))), {}

    train = air.iloc[:-HORIZON]
    m = AutoML(task="forecast", time_budget=budget, metric=mase_that_hangs_late, estimators=["snaive", "lr"],
               tracking=False, seed=0, n_jobs=1, ensemble=False,
               callbacks=[lambda study, trial: finished.append(trial) if trial.status == "ok" else None])
    m.fit(train[["ds"]], train["y"], time_column="ds", horizon=HORIZON)
    assert clock.monotonic() - started <= budget * 1.05 + 1  # measured from outside the call
    hung = [t for t in m.study_.trials if "past its time limit" in (t.error or "")]
    assert len(hung) == 1 and hung[0] is m.study_.trials[-1]
    assert m.refit_ == "all rows" and m.best_trial_ is m.study_.best
