"""Linear family "lr": logistic regression (classification) or ridge (regression)."""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from automl.estimators.base import BuildContext, EstimatorAdapter


class LinearAdapter(EstimatorAdapter):
    name = "lr"
    cost_rank = 6

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        features = ColumnTransformer(
            [
                (
                    "numeric",
                    make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()),
                    make_column_selector(dtype_exclude="category"),
                ),
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore", max_categories=64),
                    make_column_selector(dtype_include="category"),
                ),
            ]
        )
        if context.task == "classification":
            model: Any = LogisticRegression(C=config["C"], max_iter=1000, random_state=context.seed)
        else:
            model = Ridge(alpha=config["alpha"], random_state=context.seed)
        return Pipeline([("features", features), ("model", model)])
