"""LightGBM family."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.monitor import RoundMonitor, is_report_round


class LGBMAdapter(EstimatorAdapter):
    name = "lgbm"
    cost_rank = 1

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        import lightgbm as lgb

        params = dict(config)
        params["max_bin"] = 2 ** int(params.pop("log_max_bin")) - 1
        if context.device == "cuda":
            params["device_type"] = "gpu"  # LightGBM's OpenCL build, shipped in the PyPI wheel
            params["max_bin"] = min(params["max_bin"], 255)  # its GPU learner refuses larger bins
        cls = lgb.LGBMClassifier if context.task == "classification" else lgb.LGBMRegressor
        return cls(**params, n_jobs=context.n_jobs, random_state=context.seed, verbose=-1)

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: RoundMonitor | None = None) -> bool:
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

        model.fit(X, y, callbacks=[stop_early])
        return state["completed"]
