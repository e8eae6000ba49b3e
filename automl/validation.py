"""Validation splits of independent rows: k-fold (stratified for classes) or holdout, with safe fallbacks."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl.fitdata import Split

logger = logging.getLogger(__name__)


def kfold_splits(y: np.ndarray, n_splits: int, seed: int, stratify: bool) -> list[Split]:
    """Shuffled k-fold index pairs; stratified by class when ``stratify`` and every class has two rows."""
    n_rows = len(y)
    n_splits = min(n_splits, n_rows)
    if stratify:
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest < 2:
            _warn(f"The smallest class has {smallest} row(s), too few to stratify; "
                  "using unstratified folds (some validation folds may miss that class).")
            stratify = False
        elif smallest < n_splits:
            _warn(f"The smallest class has {smallest} row(s), fewer than n_splits={n_splits}; "
                  f"using {smallest} stratified folds instead.")
            n_splits = smallest
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(train, val) for train, val in splitter.split(np.zeros(n_rows), y)]


def holdout_split(y: np.ndarray, fraction: float, seed: int, stratify: bool) -> list[Split]:
    """One shuffled (train, validation) pair holding out ``fraction`` of the rows."""
    n_rows = len(y)
    if stratify:
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest < 2:
            _warn(f"The smallest class has {smallest} row(s), too few to stratify the holdout split; splitting at random.")
            stratify = False
    n_val = max(1, int(round(fraction * n_rows)))
    if stratify:
        n_classes = len(np.unique(y))
        n_val = min(max(n_val, n_classes), n_rows - n_classes)
    train, val = train_test_split(np.arange(n_rows), test_size=n_val, random_state=seed,
                                  stratify=y if stratify else None, shuffle=True)
    return [(np.sort(train), np.sort(val))]


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=6)  # the user's call of fit
    logger.warning(message)
