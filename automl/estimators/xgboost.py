"""XGBoost families: leaf-wise ("xgboost") and depth-limited ("xgb_limitdepth"); XGBRanker for ranking."""

from __future__ import annotations

import json
import math
import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

from automl.cost import FitShape
from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.estimators.queries import query_order, take_rows
from automl.monitor import RoundMonitor, is_report_round


def _stopping_callback(deadline: float | None, monitor: RoundMonitor | None, total_rounds: int) -> Any:
    import xgboost as xgb

    class StopEarly(xgb.callback.TrainingCallback):
        stopped = False

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            rounds = epoch + 1
            if monitor is not None and monitor.active and is_report_round(rounds) and rounds < total_rounds:
                if "dmatrix" not in monitor.cache:
                    monitor.cache["dmatrix"] = xgb.DMatrix(monitor.X_val, enable_categorical=True)
                output = model.predict(monitor.cache["dmatrix"], iteration_range=(0, rounds))
                self.stopped = monitor.report(rounds, output)
            if deadline is not None and time.monotonic() > deadline:
                self.stopped = True
            return self.stopped

    return StopEarly()


class XGBoostAdapter(EstimatorAdapter):
    name = "xgboost"
    tasks = ("classification", "regression", "rank")
    accepts_sparse = True
    rounds_param = "n_estimators"
    libraries = ("xgboost",)
    cost_rank = 2
    cost_coefficients = {"fit": 0.0125, "trees": 1.13e-05, "work": 6.24e-09}  # benchmarks/results/cost_model.json
    fixed: dict[str, Any] = {"max_depth": 0, "grow_policy": "lossguide"}

    def cost_terms(self, config: dict[str, Any], shape: FitShape) -> dict[str, float]:
        """Trees, their leaves, histogram passes over sampled rows x used features, split scans over 256 bins."""
        trees = config["n_estimators"] * shape.outputs
        leaves = max(2.0, min(self._leaves(config), shape.rows))
        features = max(1.0, config.get("colsample_bytree", 1.0) * config.get("colsample_bylevel", 1.0) * shape.features)
        return {
            "fit": 1.0, "trees": trees, "leaves": trees * leaves,
            "work": trees * features * config.get("subsample", 1.0) * shape.rows * (1 + math.log2(leaves) / 2),
            "bins": trees * features * leaves * 256,
        }

    @staticmethod
    def _leaves(config: dict[str, Any]) -> float:
        return float(config["max_leaves"])

    def trained_on(self, model: Any) -> str | None:
        """XGBoost falls back to the CPU (with a warning) when it finds no GPU; its booster's config says which."""
        config = json.loads(model.get_booster().save_config())
        return str(config["learner"]["generic_param"].get("device", "cpu"))

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        import xgboost as xgb

        kinds = {"classification": xgb.XGBClassifier, "regression": xgb.XGBRegressor, "rank": xgb.XGBRanker}
        return kinds[context.task](
            **self.fixed,
            **config,
            tree_method="hist",
            device=context.device,
            enable_categorical=True,
            n_jobs=context.n_jobs,
            random_state=context.seed,
            verbosity=0,
        )

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: RoundMonitor | None = None,
            extras: Mapping[str, np.ndarray] | None = None) -> bool:
        """A ranker gets its rows sorted by query id (XGBoost's requirement); rank:map sees label > 0 as relevant."""
        import xgboost as xgb

        fit_args: dict[str, Any] = {}
        if isinstance(model, xgb.XGBRanker):
            order, qid, _ = query_order(extras)
            X, y = take_rows(X, y, order)
            if model.get_params()["objective"] == "rank:map":  # XGBoost's MAP takes binary labels only
                y = (y > 0).astype(int)
            fit_args["qid"] = qid
        if deadline is None and monitor is None:
            model.fit(X, y, **fit_args)
            return True
        callback = _stopping_callback(deadline, monitor, int(model.get_params()["n_estimators"]))
        model.set_params(callbacks=[callback])
        try:
            model.fit(X, y, **fit_args)
        finally:
            model.set_params(callbacks=None)
        return not callback.stopped


class XGBLimitDepthAdapter(XGBoostAdapter):
    name = "xgb_limitdepth"
    cost_rank = 3
    cost_coefficients = {"fit": 0.0137, "trees": 4.17e-05, "work": 5.88e-09}  # benchmarks/results/cost_model.json
    fixed: dict[str, Any] = {}

    @staticmethod
    def _leaves(config: dict[str, Any]) -> float:
        return 2.0 ** config["max_depth"]
