"""XGBoost families: leaf-wise ("xgboost") and depth-limited ("xgb_limitdepth")."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from automl.estimators.base import BuildContext, EstimatorAdapter


def _deadline_callback(deadline: float) -> Any:
    import xgboost as xgb

    class StopAtDeadline(xgb.callback.TrainingCallback):
        stopped = False

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            self.stopped = time.monotonic() > deadline
            return self.stopped

    return StopAtDeadline()


class XGBoostAdapter(EstimatorAdapter):
    name = "xgboost"
    cost_rank = 2
    fixed: dict[str, Any] = {"max_depth": 0, "grow_policy": "lossguide"}

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        import xgboost as xgb

        cls = xgb.XGBClassifier if context.task == "classification" else xgb.XGBRegressor
        return cls(
            **self.fixed,
            **config,
            tree_method="hist",
            enable_categorical=True,
            n_jobs=context.n_jobs,
            random_state=context.seed,
            verbosity=0,
        )

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None) -> bool:
        if deadline is None:
            model.fit(X, y)
            return True
        callback = _deadline_callback(deadline)
        model.set_params(callbacks=[callback])
        try:
            model.fit(X, y)
        finally:
            model.set_params(callbacks=None)
        return not callback.stopped


class XGBLimitDepthAdapter(XGBoostAdapter):
    name = "xgb_limitdepth"
    cost_rank = 3
    fixed: dict[str, Any] = {}
