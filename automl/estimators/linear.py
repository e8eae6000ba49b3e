"""Linear family "lr": logistic regression (classification) or ridge (regression; for ranking, a pointwise baseline)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MaxAbsScaler, OneHotEncoder, StandardScaler

from automl.cost import FitShape
from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.sparse import is_sparse


class SparseScaled(TransformerMixin, BaseEstimator):
    """A sparse matrix scaled by each column's largest magnitude (sparsity kept), stored NaN entries made 0."""

    def fit(self, X: Any, y: Any = None) -> "SparseScaled":
        self.scaler_ = MaxAbsScaler().fit(self._filled(X))
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        return self.scaler_.transform(self._filled(X))

    @staticmethod
    def _filled(X: Any) -> Any:
        if not np.isnan(X.data).any():
            return X
        X = X.copy()
        X.data[np.isnan(X.data)] = 0.0
        return X


class LinearFeatures(TransformerMixin, BaseEstimator):
    """:func:`scaled_features` for a table, :class:`SparseScaled` for a sparse matrix: chosen at fit."""

    def fit(self, X: Any, y: Any = None) -> "LinearFeatures":
        self.features_ = (SparseScaled() if is_sparse(X) else scaled_features()).fit(X, y)
        self.n_features_in_ = X.shape[1]
        if hasattr(self.features_, "feature_names_in_"):  # a table's columns: what the pipeline and reports name
            self.feature_names_in_ = self.features_.feature_names_in_
        return self

    def transform(self, X: Any) -> Any:
        return self.features_.transform(X)


def standardised_numbers() -> Pipeline:
    """Numbers imputed with the median (an empty column with 0) and standardised: linear models' and networks'."""
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())


def scaled_features(dense: bool = False) -> ColumnTransformer:
    """Numbers imputed (median) and standardised, categories one-hot encoded: what linear models and networks need.

    ``dense``: always a dense array (networks); otherwise sparse where the one-hot columns make it mostly zeros.
    """
    return ColumnTransformer(
        [
            (
                "numeric",
                standardised_numbers(),
                make_column_selector(dtype_exclude="category"),
            ),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", max_categories=64, sparse_output=not dense),
                make_column_selector(dtype_include="category"),
            ),
        ],
        sparse_threshold=0.0 if dense else 0.3,
    )


class LinearAdapter(EstimatorAdapter):
    name = "lr"
    tasks = ("classification", "regression", "rank")
    accepts_sparse = True
    libraries = ("sklearn.linear_model", "sklearn.compose")
    cost_rank = 6
    cost_coefficients = {"fit": 0.0105, "work": 4.28e-09}  # benchmarks/results/cost_model.json

    def cost_terms(self, config: dict[str, Any], shape: FitShape) -> dict[str, float]:
        """One fit; rows x features x classes x iterations, which grow with weaker regularisation (larger C)."""
        if "C" in config:
            return {"fit": 1.0, "work": shape.rows * shape.features * shape.outputs * (1 + math.log2(1 + config["C"]))}
        return {"fit": 1.0, "work": shape.rows * shape.features * (1 + shape.features / 8)}  # ridge: one solve

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        features = LinearFeatures()
        if context.task == "classification":
            model: Any = LogisticRegression(C=config["C"], max_iter=1000, random_state=context.seed)
        else:
            model = Ridge(alpha=config["alpha"], random_state=context.seed)
        return Pipeline([("features", features), ("model", model)])
