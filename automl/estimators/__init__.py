"""Estimator families, by name."""

from __future__ import annotations

from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.registry import Registry

ESTIMATORS: Registry[type[EstimatorAdapter]] = Registry("estimator", "estimators")
ESTIMATORS.register("lgbm", "automl.estimators.lgbm:LGBMAdapter")
ESTIMATORS.register("xgboost", "automl.estimators.xgboost:XGBoostAdapter")
ESTIMATORS.register("xgb_limitdepth", "automl.estimators.xgboost:XGBLimitDepthAdapter")
ESTIMATORS.register("rf", "automl.estimators.forest:RandomForestAdapter")
ESTIMATORS.register("extra_trees", "automl.estimators.forest:ExtraTreesAdapter")
ESTIMATORS.register("lr", "automl.estimators.linear:LinearAdapter")
ESTIMATORS.register("mlp", "automl.estimators.mlp:MLPAdapter")
ESTIMATORS.register("snaive", "automl.estimators.forecasters:SeasonalNaiveAdapter")
ESTIMATORS.register("ets", "automl.estimators.forecasters:ETSAdapter")
ESTIMATORS.register("theta", "automl.estimators.forecasters:ThetaAdapter")
ESTIMATORS.register("arima", "automl.estimators.forecasters:ARIMAAdapter")
ESTIMATORS.register("prophet", "automl.estimators.forecasters:ProphetAdapter")


def get_adapter(name: str) -> EstimatorAdapter:
    """An instance of the family registered as ``name``."""
    return ESTIMATORS.get(name)()


__all__ = ["ESTIMATORS", "BuildContext", "EstimatorAdapter", "get_adapter"]
