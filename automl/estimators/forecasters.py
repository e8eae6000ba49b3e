"""Forecasting families: statistical models per series (statsforecast) and tabular regressors on lags (mlforecast).

The statistical families (``snaive``, ``ets``, ``arima``, ``theta``) serve only the forecast task. A tabular
regression family (``lgbm``, ``xgboost``, ``rf``, ``extra_trees``, ``lr``) serves it through
:class:`GlobalModelAdapter`: its own space and fit, plus the lag-feature parameters of
``searchspaces/lags.yaml``, fitted as one global model across all series.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from typing import Any

import pandas as pd

from automl.cost import FitShape
from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.forecasting.forecasters import LagForecaster, StatsForecaster
from automl.space import SearchSpace, load_builtin

INSTALL_HINT = 'pip install "automl[forecast]" (statsforecast and mlforecast)'


def _missing(module: str) -> str | None:
    return None if importlib.util.find_spec(module) is not None else f"{module} is not installed; {INSTALL_HINT}"


class StatsAdapter(EstimatorAdapter):
    """A statsforecast model fitted per series; ``model`` builds it from a configuration and a season length."""

    tasks = ("forecast",)
    libraries = ("statsforecast",)
    stops_at_deadline = False  # one series' fit runs in C to its end
    cost_coefficients = {"fit": 0.002, "work": 2e-6}

    @classmethod
    def missing_dependency(cls) -> str | None:
        return _missing("statsforecast")

    def new_model(self, config: dict[str, Any], season: int) -> Any:
        """A fresh, unfitted statsforecast model for one series."""
        raise NotImplementedError

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        return StatsForecaster(self.name, config, int(context.options.get("season", 1)))

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: Any = None,
            extras: Any = None) -> bool:
        return bool(model.fit(X, y, deadline))


class SeasonalNaiveAdapter(StatsAdapter):
    """The baseline: each step repeats the value one season earlier (or the last value, or a drift line)."""

    name = "snaive"
    cost_rank = -10
    #: the last value next, then the drift line: on a random walk (a stock price) they are the baselines to beat, and
    #: ten backtest windows at 20 s left msft_close's search without a naive trial (only the seasonal ones ran)
    starts = ({"method": "naive"}, {"method": "drift"})
    prunable = False  # the baseline's trials see every window (ASHA pruned naive and drift after one on air_passengers)

    def new_model(self, config: dict[str, Any], season: int) -> Any:
        from statsforecast.models import Naive, RandomWalkWithDrift, SeasonalNaive, SeasonalWindowAverage

        method = config["method"]
        if method == "naive":
            return Naive()
        if method == "drift":
            return RandomWalkWithDrift()
        if method == "seasonal_window_average":
            return SeasonalWindowAverage(season_length=season, window_size=2)
        return SeasonalNaive(season_length=season)


class ETSAdapter(StatsAdapter):
    """Exponential smoothing (Holt-Winters) state-space models; "Z" components are chosen by AICc."""

    name = "ets"
    cost_rank = -9

    def new_model(self, config: dict[str, Any], season: int) -> Any:
        from statsforecast.models import AutoETS

        spec = str(config["model"]) if season > 1 else str(config["model"])[:2] + "N"
        damped = None if spec[1] == "N" else {"auto": None, "yes": True, "no": False}[config.get("damped", "auto")]
        return AutoETS(season_length=season, model=spec, damped=damped)


class ThetaAdapter(StatsAdapter):
    """The Theta method and its optimised / dynamic variants."""

    name = "theta"
    cost_rank = -8

    def new_model(self, config: dict[str, Any], season: int) -> Any:
        from statsforecast.models import AutoTheta

        variant = None if config["model"] == "auto" else config["model"]
        return AutoTheta(season_length=season, decomposition_type=config["decomposition"], model=variant)


#: Longest season ARIMA models seasonally (statsforecast's AutoETS has the same limit): AutoARIMA with
#: season_length=52 took 278 s on 948 weekly points, 1.2 s without seasonal terms. Longer seasons are
#: left to ETS/Theta decomposition and the lag families.
MAX_ARIMA_SEASON = 24


class ARIMAAdapter(StatsAdapter):
    """ARIMA / SARIMA: orders chosen by the stepwise auto-ARIMA (the starting point) or searched directly."""

    name = "arima"
    cost_rank = -7
    cost_coefficients = {"fit": 0.05, "work": 2e-5}

    def new_model(self, config: dict[str, Any], season: int) -> Any:
        from statsforecast.models import ARIMA, AutoARIMA

        season = season if season <= MAX_ARIMA_SEASON else 1  # seasonal ARIMA on long seasons takes minutes
        if config["auto_order"]:
            return AutoARIMA(season_length=season)
        order = (int(config["p"]), int(config["d"]), int(config["q"]))
        seasonal = (int(config["P"]), int(config["D"]), int(config["Q"]))
        return ARIMA(order=order, season_length=season, seasonal_order=seasonal if season > 1 else (0, 0, 0),
                     include_drift=bool(config.get("drift", False)) and order[1] + seasonal[1] <= 1)


class ProphetAdapter(StatsAdapter):
    """Prophet per series (an optional extra: ``pip install "automl[prophet]"``), on the series' step index."""

    name = "prophet"
    cost_rank = -6
    in_auto = False
    libraries = ("prophet",)
    cost_coefficients = {"fit": 0.1, "work": 5e-5}

    @classmethod
    def missing_dependency(cls) -> str | None:
        if importlib.util.find_spec("prophet") is None:
            return 'prophet is not installed; pip install "automl[prophet]"'
        return _missing("statsforecast")

    def new_model(self, config: dict[str, Any], season: int) -> Any:
        from automl.forecasting.prophet_model import ProphetModel

        return ProphetModel(config, season)


#: Tabular regression families that forecast as one global model on lag features.
LAG_FAMILIES = ("lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_trees", "lr")
#: Of those, the ones a forecast job searches with estimators="auto".
LAG_FAMILIES_IN_AUTO = ("lgbm", "extra_trees", "lr")
REGRESSION = "regression"


class GlobalModelAdapter(EstimatorAdapter):
    """A tabular regression family as a global forecaster: its space and fit, plus the lag parameters."""

    tasks = ("forecast",)

    def __init__(self, inner: EstimatorAdapter, horizon: int = 1) -> None:
        self.inner, self.horizon = inner, horizon
        self.name = inner.name  # type: ignore[misc]
        self.cost_rank = inner.cost_rank  # type: ignore[misc]
        self.libraries = (*inner.libraries, "mlforecast")  # type: ignore[misc]
        self.cost_coefficients = inner.cost_coefficients  # type: ignore[misc]

    @classmethod
    def missing_dependency(cls) -> str | None:
        return _missing("mlforecast")

    def search_space(self) -> SearchSpace:
        """The family's regression parameters (their task limits dropped) and the lag parameters."""
        own = tuple(replace(p, tasks=None) for p in self.inner.search_space().params if p.applies_to(REGRESSION))
        lags = load_builtin("lags")
        names = {p.name for p in own}
        return SearchSpace(self.name, own + tuple(p for p in lags.params if p.name not in names),
                           f"{self.inner.search_space().source} + {lags.source}")

    def _regression_config(self, config: dict[str, Any]) -> dict[str, Any]:
        lag_names = {p.name for p in load_builtin("lags").params}
        return {k: v for k, v in config.items() if k not in lag_names}

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        inner_context = replace(context, task=REGRESSION, categorical_features=(), options={})
        return LagForecaster(self.name, self._regression_config(config), inner_context, config,
                             int(context.options.get("season", 1)), int(context.options.get("horizon", 1)))

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: Any = None,
            extras: Any = None) -> bool:
        return bool(model.fit(X, y, deadline))

    def cost_terms(self, config: dict[str, Any], shape: FitShape) -> dict[str, float]:
        terms = self.inner.cost_terms(self._regression_config(config), shape)
        fits = self.horizon if config.get("strategy") == "direct" else 1
        return {name: value * fits for name, value in terms.items()}

    def trained_on(self, model: Any) -> str | None:
        return "cpu"
