"""What ranking libraries need from grouped rows: the rows contiguous by query, and the query sizes."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

#: Labels covered by the label gains built with a configuration (LightGBM's default covers 0..30 too).
GAIN_LABELS = 31


def query_order(extras: Mapping[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row order that makes each query contiguous, keeping rows' order within a query; the sorted query ids; the
    size of each query in that order), from the fitted rows' ``groups``."""
    if extras is None or extras.get("groups") is None:
        raise ValueError("a ranker needs the rows' query ids (groups); none reached the fit")
    groups = np.asarray(extras["groups"])
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    _, sizes = np.unique(ordered, return_counts=True)
    return order, ordered, sizes


def take_rows(X: Any, y: Any, order: np.ndarray) -> tuple[Any, np.ndarray]:
    """``X`` and ``y`` in ``order`` (a DataFrame by position)."""
    rows = X.iloc[order] if hasattr(X, "iloc") else X[order]
    return rows, np.asarray(y)[order]


def exponential_gain(base: float, max_label: int = GAIN_LABELS - 1) -> list[float]:
    """``base**label - 1`` for labels 0..max_label: base 2 is the usual NDCG gain, a smaller base flattens it."""
    return [float(base) ** label - 1.0 for label in range(int(max_label) + 1)]
