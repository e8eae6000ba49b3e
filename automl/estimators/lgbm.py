"""LightGBM family: LGBMClassifier, LGBMRegressor, or LGBMRanker for ranking (lambdarank / rank_xendcg)."""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

from automl.cost import FitShape
from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.estimators.queries import exponential_gain, query_order, take_rows
from automl.monitor import RoundMonitor, is_report_round


class LGBMAdapter(EstimatorAdapter):
    name = "lgbm"
    tasks = ("classification", "regression", "rank")
    rounds_param = "n_estimators"
    accepts_sparse = True
    libraries = ("lightgbm",)
    cost_rank = 1
    cost_coefficients = {"fit": 0.00451, "leaves": 6.25e-07, "work": 3.04e-09, "bins": 4.8e-10}  # benchmarks/results/cost_model.json

    def cost_terms(self, config: dict[str, Any], shape: FitShape) -> dict[str, float]:
        """Trees, their leaves, histogram passes over rows x used features, split scans over bins."""
        trees = config["n_estimators"] * shape.outputs
        leaves = max(2.0, min(config["num_leaves"], shape.rows / max(config.get("min_child_samples", 20), 1)))
        features = max(1.0, config.get("colsample_bytree", 1.0) * shape.features)
        return {
            "fit": 1.0, "trees": trees, "leaves": trees * leaves,
            "work": trees * features * shape.rows * (1 + math.log2(leaves) / 2),
            "bins": trees * features * leaves * 2 ** int(config["log_max_bin"]),
        }

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        import lightgbm as lgb

        params = dict(config)
        params["max_bin"] = 2 ** int(params.pop("log_max_bin")) - 1
        if context.device == "cuda":
            params["device_type"] = "gpu"  # LightGBM's OpenCL build, shipped in the PyPI wheel
        if context.gpu_limits or context.device == "cuda":
            params["max_bin"] = min(params["max_bin"], 255)  # its GPU learner refuses larger bins
        if context.task == "rank":
            params["label_gain"] = exponential_gain(params.pop("label_gain_base", 2.0))
            return lgb.LGBMRanker(**params, n_jobs=context.n_jobs, random_state=context.seed, verbose=-1)
        cls = lgb.LGBMClassifier if context.task == "classification" else lgb.LGBMRegressor
        return cls(**params, n_jobs=context.n_jobs, random_state=context.seed, verbose=-1)

    def trained_on(self, model: Any) -> str | None:
        """LightGBM's GPU learner fails rather than falling back, so the parameter is the device."""
        return "cuda" if model.get_params().get("device_type") == "gpu" else "cpu"

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: RoundMonitor | None = None,
            extras: Mapping[str, np.ndarray] | None = None) -> bool:
        """A ranker gets its rows contiguous by query, with the query sizes, and gains for its largest label."""
        import lightgbm as lgb

        state = {"completed": True}

        def stop_early(env: Any) -> None:
            rounds = env.iteration + 1
            if monitor is not None and monitor.active and is_report_round(rounds) and rounds < env.end_iteration:
                if monitor.report(rounds, env.model.predict(monitor.X_val, num_iteration=rounds)):
                    state["completed"] = False
                    raise lgb.callback.EarlyStopException(env.iteration, [])
            if deadline is not None and time.monotonic() > deadline:
                state["completed"] = False
                raise lgb.callback.EarlyStopException(env.iteration, [])

        if isinstance(model, lgb.LGBMRanker):
            order, _, sizes = query_order(extras)
            X, y = take_rows(X, y, order)
            gain = model.get_params()["label_gain"]
            if int(y.max()) >= len(gain):  # labels above 30: the same gains, continued
                model.set_params(label_gain=exponential_gain(gain[1] + 1.0, int(y.max())))
            model.fit(X, y, group=sizes, callbacks=[stop_early])
        else:
            model.fit(X, y, callbacks=[stop_early])
        return state["completed"]
