"""Out-of-fold predictions of the best trials, kept so that trials can be ensembled without refitting them.

Every finished trial predicts its validation rows (each row once under
cross-validation; the held-out rows on a holdout split). The store keeps those
predictions for the best :data:`KEEP_BEST` trials by loss, as float64 (float32
lost the order of saturated probabilities: an unregularised logistic regression's
1 - 1e-9 became 1.0, and its kept predictions scored roc_auc 0.9735 where the
trial had scored 0.9843), and fewer when they would take more than :data:`MAX_BYTES` together; a better
trial evicts the worst kept one. Ray workers send predictions back only for a
trial that would be kept (its loss beats :meth:`OutOfFoldStore.threshold`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Trials whose out-of-fold predictions are kept, best first.
KEEP_BEST = 20
#: Memory the kept predictions may take together (bytes).
MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class OutOfFold:
    """A trial's predictions for the fit data's rows ``rows`` (probabilities per class, or values)."""

    rows: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, rows: list[np.ndarray], values: list[np.ndarray]) -> "OutOfFold":
        order = np.concatenate(rows)
        stacked = np.concatenate(values).astype(np.float64)
        sort = np.argsort(order, kind="stable")
        return cls(order[sort], stacked[sort])

    @property
    def nbytes(self) -> int:
        return int(self.rows.nbytes + self.values.nbytes)


class OutOfFoldStore:
    """The best trials' out-of-fold predictions, by trial id."""

    def __init__(self, keep: int = KEEP_BEST, max_bytes: int = MAX_BYTES) -> None:
        self.keep, self.max_bytes = keep, max_bytes
        self._kept: dict[int, tuple[float, OutOfFold]] = {}

    @property
    def capacity(self) -> int:
        """How many trials fit: ``keep``, or fewer when one trial's predictions are large."""
        if not self._kept:
            return self.keep
        size = max(p.nbytes for _, p in self._kept.values())
        return max(1, min(self.keep, self.max_bytes // max(size, 1)))

    def threshold(self) -> float:
        """The loss a trial must beat for its predictions to be kept (infinite while there is room)."""
        if len(self._kept) < self.capacity:
            return math.inf
        return max(loss for loss, _ in self._kept.values())

    def offer(self, trial_id: int, loss: float, predictions: OutOfFold) -> bool:
        """Keep ``predictions`` if the trial is among the best; evict the worst kept ones beyond capacity."""
        if not math.isfinite(loss) or loss >= self.threshold():
            return False
        self._kept[trial_id] = (loss, predictions)
        while len(self._kept) > self.capacity:
            worst = max(self._kept, key=lambda t: (self._kept[t][0], t))
            del self._kept[worst]
        return trial_id in self._kept

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self._kept

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, trial_id: int) -> OutOfFold:
        return self._kept[trial_id][1]

    def best(self) -> list[tuple[int, OutOfFold]]:
        """Kept trials, best loss first."""
        ranked = sorted(self._kept.items(), key=lambda item: (item[1][0], item[0]))
        return [(trial_id, predictions) for trial_id, (_, predictions) in ranked]
