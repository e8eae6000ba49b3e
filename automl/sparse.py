"""Sparse feature matrices (``scipy.sparse``): what text and one-hot features arrive as, kept sparse end to end.

A sparse ``X`` (a scipy.sparse matrix, or a DataFrame of pandas sparse columns) is checked once, and what
estimators get is CSR with float64 values, passed as it is to the families that take it natively (``EstimatorAdapter.accepts_sparse``: LightGBM, XGBoost, the linear models, the forests); the others are
left out of the search with one log line. Nothing is densified: every column is a number (absent entries are
0, stored NaN entries are missing), and the model's columns are named x0, x1, ... as for a numpy array, or as
the sparse frame names them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import INFINITE_FEATURES, InputError, infinite_values


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a scipy.sparse matrix or array (any format), or a DataFrame whose columns are all pandas
    sparse (what ``automl.svmlight`` reads, with its column names)."""
    from scipy import sparse

    return sparse.issparse(X) or is_sparse_frame(X)


def is_sparse_frame(X: Any) -> bool:
    return (isinstance(X, pd.DataFrame) and X.shape[1] > 0
            and all(isinstance(dtype, pd.SparseDtype) for dtype in X.dtypes))


def column_names(X: Any) -> list[str]:
    """A sparse X's column names: a sparse frame's own, else x0, x1, ... as for a numpy array."""
    return [str(c) for c in X.columns] if is_sparse_frame(X) else [f"x{i}" for i in range(X.shape[1])]


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """The rows ``rows`` of a table (renumbered from 0), a sparse frame or a sparse matrix."""
    return X.iloc[rows].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[rows]


def to_csr(X: Any, parameter: str = "X", n_features: int | None = None) -> Any:
    """``X`` as a 2-D CSR matrix of float64, checked: real numbers, no infinity, ``n_features`` columns when given."""
    from scipy import sparse

    if is_sparse_frame(X):
        X = X.sparse.to_coo()
    if X.ndim != 2:
        raise InputError(f"{parameter} is a sparse array with {X.ndim} dimension(s); pass a 2-D matrix (rows x features).")
    if np.iscomplexobj(X):
        raise InputError(f"{parameter} holds complex values: Complex data not supported; pass real numbers "
                         f"({parameter}.real or abs({parameter})).")
    if n_features is not None and X.shape[1] != n_features:
        raise InputError(f"{parameter} has {X.shape[1]} features, but AutoML is expecting {n_features} features as "
                         f"input; pass a matrix with the {n_features} columns it was fitted on, in that order.")
    matrix = sparse.csr_matrix(X, dtype=np.float64)  # a copy where the format or dtype differs; int64 indices kept
    if not matrix.has_canonical_format:  # duplicate or unsorted entries: summed in a copy, never in the user's matrix
        matrix = matrix.copy()
        matrix.sum_duplicates()
    infinite = np.isinf(matrix.data)
    if infinite.any():
        row = int(np.searchsorted(matrix.indptr, int(np.flatnonzero(infinite)[0]), side="right") - 1)
        raise infinite_values(f"{parameter} holds", int(infinite.sum()), row, INFINITE_FEATURES)
    return matrix


def density(X: Any) -> float:
    """The share of stored entries in a sparse matrix."""
    cells = X.shape[0] * X.shape[1]
    return float(X.nnz / cells) if cells else 0.0


def fingerprint(X: Any, y_hash: bytes) -> str:
    """A short content hash of a sparse X (column names, shape, structure, values) and the target's hash."""
    digest = hashlib.sha256()
    digest.update(",".join(column_names(X)).encode())
    X = to_csr(X)
    digest.update(repr(X.shape).encode())
    for part in (X.indptr, X.indices, X.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    digest.update(y_hash)
    return digest.hexdigest()[:16]


__all__ = ["column_names", "density", "fingerprint", "is_sparse", "is_sparse_frame", "take_rows", "to_csr"]
