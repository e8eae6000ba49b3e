"""The ``mlp`` family's inputs: numbers standardised, categories one-hot encoded or as codes for learned embeddings.

A categorical column with at most ``embed_above`` categories seen at fit is one-hot encoded (as for the linear
models); one with more becomes one column of integer codes (0 for a missing value or one not seen at fit, 1..k
for the categories) that the network looks up in an embedding table of its own (``mlp_network.Inputs``). The
code columns come last; ``cardinalities_`` gives each one's table size (k + 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from automl.estimators.linear import standardised_numbers

#: One-hot up to this many categories where the configuration does not say (the space's default).
DEFAULT_EMBED_ABOVE = 16


class MLPFeatures(TransformerMixin, BaseEstimator):
    """Dense float features: standardised numbers, one-hot columns, then the code columns of embedded categories."""

    def __init__(self, embed_above: int = DEFAULT_EMBED_ABOVE) -> None:
        self.embed_above = embed_above

    def fit(self, X: pd.DataFrame, y: Any = None) -> "MLPFeatures":
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        numeric = [c for c in X.columns if c not in categorical]
        seen = {c: X[c].dropna().nunique() for c in categorical}
        embedded = [c for c in categorical if seen[c] > int(self.embed_above)]
        one_hot = [c for c in categorical if c not in embedded]
        parts: list[tuple[str, Any, list[str]]] = []
        if numeric:
            parts.append(("numeric", standardised_numbers(), numeric))
        if one_hot:
            parts.append(("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), one_hot))
        if embedded:
            parts.append(("codes", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                  encoded_missing_value=-1), embedded))
        self.transformer_ = ColumnTransformer(parts, sparse_threshold=0.0).fit(X)
        self.cardinalities_ = ([len(c) + 1 for c in self.transformer_.named_transformers_["codes"].categories_]
                               if embedded else [])
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        out = np.asarray(self.transformer_.transform(X), dtype=np.float32)
        if self.cardinalities_:
            out[:, -len(self.cardinalities_):] += 1  # -1 (missing or unseen) -> 0, categories -> 1..k
        return out
