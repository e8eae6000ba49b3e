"""scikit-learn forests: random forest ("rf") and extremely randomised trees ("extra_trees")."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline

from automl.cost import FitShape
from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.sparse import is_sparse

#: Trees grown before the cost per tree is known, and the seconds each later chunk aims for.
FIRST_CHUNK = 4
CHUNK_SECONDS = 0.25


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Replace pandas category columns by their codes, missing and unseen values by NaN; a sparse matrix as it is."""

    def fit(self, X: Any, y: Any = None) -> "CategoryCodes":
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        if is_sparse(X):
            return X
        columns = [
            X[c].cat.codes.replace(-1, np.nan).to_numpy(dtype="float64")
            if isinstance(X[c].dtype, pd.CategoricalDtype)
            else X[c].to_numpy(dtype="float64")
            for c in X.columns
        ]
        return np.column_stack(columns)


class RandomForestAdapter(EstimatorAdapter):
    """Forests; for ranking, a pointwise baseline: a regressor of the relevance labels, its values the scores."""

    name = "rf"
    tasks = ("classification", "regression", "rank")
    accepts_sparse = True
    libraries = ("sklearn.ensemble",)
    cost_rank = 4
    cost_coefficients = {"fit": 0.00448, "trees": 0.000713, "work": 3.8e-09}  # benchmarks/results/cost_model.json
    classes = (RandomForestClassifier, RandomForestRegressor)
    sorts = True  # best splits sort each node's values; extremely randomised trees draw thresholds

    def cost_terms(self, config: dict[str, Any], shape: FitShape) -> dict[str, float]:
        """Trees, their leaves, rows x features tried per split x levels (x log rows where values are sorted)."""
        trees = float(config["n_estimators"])
        leaves = max(2.0, min(config["max_leaves"], shape.rows))
        features = max(1.0, config.get("max_features", 1.0) * shape.features)
        per_level = shape.rows * (math.log2(max(shape.rows, 2.0)) if self.sorts else 1.0)
        return {"fit": 1.0, "trees": trees, "leaves": trees * leaves, "work": trees * features * per_level * math.log2(leaves)}

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        params = dict(config)
        params["max_leaf_nodes"] = params.pop("max_leaves")
        classifier, regressor = self.classes
        cls = classifier if context.task == "classification" else regressor
        forest = cls(**params, n_jobs=context.n_jobs, random_state=context.seed)
        return Pipeline([("codes", CategoryCodes()), ("forest", forest)])

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: Any = None,
            extras: Any = None) -> bool:
        """Grow the forest in chunks (warm start) sized to the time left, so a deadline stops it promptly."""
        if deadline is None:
            model.fit(X, y)
            return True
        codes, forest = model.named_steps["codes"], model.named_steps["forest"]
        matrix = codes.fit_transform(X)
        target = int(forest.n_estimators)
        grown, step, started = 0, min(target, FIRST_CHUNK), time.monotonic()
        forest.set_params(warm_start=True)
        try:
            while grown < target:
                grown = min(target, grown + step)
                forest.set_params(n_estimators=grown)
                forest.fit(matrix, y)
                per_tree = (time.monotonic() - started) / grown
                left = deadline - time.monotonic()
                if grown < target and per_tree * min(step, target - grown) > left:
                    step = int(left / per_tree)
                    if step < 1:
                        break
                else:
                    step = max(1, int(CHUNK_SECONDS / max(per_tree, 1e-6)))
        finally:
            forest.set_params(warm_start=False)
        return grown == target

    def size_mb(self, model: Any) -> float | None:
        """Its trees' nodes: 64 bytes of split each, and a float per output and class (scikit-learn's node arrays,
        which are most of a pickled forest)."""
        forest = model.steps[-1][1] if isinstance(model, Pipeline) else model
        total = 0
        for tree in getattr(forest, "estimators_", []):
            nodes, outputs, classes = tree.tree_.value.shape
            total += nodes * (64 + 8 * outputs * classes)
        return total / 1e6


class ExtraTreesAdapter(RandomForestAdapter):
    name = "extra_trees"
    cost_rank = 5
    cost_coefficients = {"fit": 0.00344, "trees": 0.00043, "leaves": 1.18e-07, "work": 8.76e-09}  # benchmarks/results/cost_model.json
    classes = (ExtraTreesClassifier, ExtraTreesRegressor)
    sorts = False
