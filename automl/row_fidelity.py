"""Training rows as a fidelity: on a large holdout split, trials may fit a subsample of the training rows.

As FLAML's sample-size fidelity: a strategy that can (CFO and BlendSearch, through FLAML's own resource
dimension) starts each family's search on :data:`MIN_ROWS` rows and grows the sample 4x whenever its local
search has settled at the current size, so a large table tries many configurations cheaply and spends its
budget at full size on the promising ones. Every trial is scored on all the validation rows; ``Trial.rows``
says how many training rows it fitted (None: all of them), and the shipped model is refitted on all rows.
Early stopping compares a trial only with trials of its family at the same size (:func:`ledger`).

Subsamples are nested (a larger one holds every smaller one), the same for every trial of a job, and keep
each class's share of the rows, with at least one row of each class (a classifier must see every label).
"""

from __future__ import annotations

import numpy as np

#: The smallest subsample a trial fits (FLAML's ``min_sample_size`` default).
MIN_ROWS = 10_000
#: A holdout fold with at most this many training rows fits all of them in every trial (FLAML samples above
#: 4 x its minimum too: below, a subsample saves little).
MIN_TRAIN_ROWS = 4 * MIN_ROWS


def samples_rows(train_rows: int, folds: int, rows_fidelity_task: bool) -> bool:
    """Whether trials may fit subsamples: one holdout fold of more than :data:`MIN_TRAIN_ROWS` exchangeable rows."""
    return rows_fidelity_task and folds == 1 and train_rows > MIN_TRAIN_ROWS


def ledger(family: str, rows: int | None) -> str:
    """The early-stopping ledger of a trial: its family, and its training rows where it fitted a subsample."""
    return family if rows is None else f"{family}@{rows}"


class RowSampler:
    """Nested subsamples of one fold's training rows: the first ``size`` rows of one seeded order."""

    def __init__(self, y: np.ndarray, classes: bool, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        n = len(y)
        if not classes:
            self.order = rng.permutation(n)
            return
        # each class's rows spread evenly along the order (its i-th of k rows at (i + 0.5) / k), so that every prefix
        # keeps the class shares; each class's first row goes first
        keys = np.empty(n)
        for label in np.unique(y):
            rows = rng.permutation(np.flatnonzero(y == label))
            keys[rows] = (np.arange(len(rows)) + 0.5) / len(rows)
            keys[rows[0]] = -1.0
        self.order = np.argsort(keys, kind="stable")

    def take(self, size: int) -> np.ndarray:
        """The positions of the first ``size`` rows of the order, sorted."""
        return np.sort(self.order[:size])
