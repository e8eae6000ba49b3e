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
    smallest = int(np.unique(y, return_counts=True)[1].min()) if classification else 0
    if method == "cv":
        n_splits = min(n_splits, n_rows)
        stratify = classification and smallest >= 2
        if classification and smallest < n_splits:
            if stratify:
                _warn(f"The smallest class has {smallest} row(s), fewer than n_splits={n_splits}; "
                      f"using {smallest} stratified folds instead.")
                n_splits = smallest
            else:
                _warn(f"The smallest class has {smallest} row(s), too few to stratify; "
                      "using unstratified folds (some validation folds may miss that class).")
        splitter = (StratifiedKFold if stratify else KFold)(n_splits=n_splits, shuffle=True, random_state=seed)
        return [(train, val) for train, val in splitter.split(np.zeros(n_rows), y)]
    stratify = classification and smallest >= 2
    if classification and not stratify:
        _warn(f"The smallest class has {smallest} row(s), too few to stratify the holdout split; splitting at random.")
    indices = np.arange(n_rows)
    n_val = max(1, int(round(holdout_fraction * n_rows)))
    if stratify:
        n_val = min(max(n_val, len(np.unique(y))), n_rows - len(np.unique(y)))
    train, val = train_test_split(
        indices, test_size=n_val, random_state=seed, stratify=y if stratify else None, shuffle=True
    )
    return [(np.sort(train), np.sort(val))]


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=4)
    logger.warning(message)
