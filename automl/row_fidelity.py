"""Training rows as a fidelity: on a large holdout split, a trial first fits growing nested subsamples of its rows.

After each subsample's fit the trial's validation loss goes to the early-stopping scheduler as an intermediate
step, as boosting rounds and cross-validation folds do, so ASHA or median-stop end a poor configuration after a
fit on a few thousand rows and only the promising ones fit all of them (FLAML's sample-size fidelity does the
same job). Every family gets it, forests and linear models too, which report no rounds.

A subsample ``k`` (from 0) has ``GROWTH ** k`` times the rows of the smallest and reports step ``GROWTH ** k``,
so ASHA's rungs (1, 3, 9, ... with its reduction factor 3) fall on them; the fit on all the fold's rows is the
trial's result. Subsamples are nested (each holds the one before), the same for every trial of a job, and keep
each class's share of the rows (with at least one row of each class: a classifier must see every label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A holdout fold with fewer training rows fits them all at once (a trial on it is fast already).
MIN_TRAIN_ROWS = 50_000
#: The smallest subsample has at least this many rows.
SMALLEST_ROWS = 10_000
#: Each subsample has this many times the rows of the one before (ASHA's default reduction factor).
GROWTH = 3


@dataclass(frozen=True)
class RowStage:
    """One subsample: the scheduler's step it reports at, and its rows (positions in the fold's training rows)."""

    step: int
    rows: np.ndarray


def row_stages(y: np.ndarray, classes: bool, seed: int = 0) -> list[RowStage]:
    """The subsamples a trial fits before all of ``y``'s rows, smallest first (none below :data:`MIN_TRAIN_ROWS`).

    ``classes``: ``y`` holds class labels, whose shares each subsample keeps.
    """
    n = len(y)
    if n < MIN_TRAIN_ROWS:
        return []
    sizes: list[int] = []
    size = n
    while size // GROWTH >= SMALLEST_ROWS:
        size //= GROWTH
        sizes.append(size)
    rng = np.random.default_rng(seed)
    if classes:
        groups = [rng.permutation(np.flatnonzero(y == label)) for label in np.unique(y)]

        def take(size: int) -> np.ndarray:
            return np.sort(np.concatenate([g[:max(1, round(size * len(g) / n))] for g in groups]))
    else:
        order = rng.permutation(n)

        def take(size: int) -> np.ndarray:
            return np.sort(order[:size])
    return [RowStage(GROWTH ** k, take(size)) for k, size in enumerate(reversed(sizes))]
