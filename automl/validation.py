"""Validation splits: k-fold (stratified for classification) or holdout, with safe fallbacks."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

logger = logging.getLogger(__name__)
Split = tuple[np.ndarray, np.ndarray]


def make_splits(
    method: str,
    y: np.ndarray,
    classification: bool,
    n_splits: int,
    holdout_fraction: float,
    seed: int,
) -> list[Split]:
    """Index pairs (train, validation) for ``method`` in {"cv", "holdout"}."""
    n_rows = len(y)
    stratify = classification and _can_stratify(y, n_splits if method == "cv" else 2, method)
    if method == "cv":
        n_splits = min(n_splits, n_rows)
        splitter = (StratifiedKFold if stratify else KFold)(n_splits=n_splits, shuffle=True, random_state=seed)
        return [(train, val) for train, val in splitter.split(np.zeros(n_rows), y)]
    indices = np.arange(n_rows)
    n_val = max(1, int(round(holdout_fraction * n_rows)))
    if stratify and classification:
        n_val = max(n_val, len(np.unique(y)))
    train, val = train_test_split(
        indices, test_size=n_val, random_state=seed, stratify=y if stratify else None, shuffle=True
    )
    return [(np.sort(train), np.sort(val))]


def _can_stratify(y: np.ndarray, needed: int, method: str) -> bool:
    _, counts = np.unique(y, return_counts=True)
    if counts.min() >= needed:
        return True
    message = (
        f"The smallest class has {counts.min()} row(s), fewer than the {needed} that stratified {method} needs; "
        "falling back to unstratified splits (some validation folds may miss that class)."
    )
    warnings.warn(message, UserWarning, stacklevel=3)
    logger.warning(message)
    return False
