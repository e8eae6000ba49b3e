"""Ensembles of the trials a job already paid for: greedy selection with replacement over out-of-fold predictions.

Caruana et al. (2004), as auto-sklearn and AutoGluon use it: start from the best trial's validation
predictions, then for :data:`ROUNDS` rounds add (with replacement) the kept trial whose addition lowers the
validation loss of the averaged predictions most; the ensemble is the one after the round with the lowest
loss (as AutoGluon's), and a trial's weight is the share of those rounds it was picked in.
The predictions are the ones every finished trial already made for its validation rows
(``automl.oof``), so building an ensemble fits nothing; shipping it refits its members on all rows.

Whether it beats the best single trial by more than noise is judged on :data:`BOOTSTRAPS` resamples of the
validation rows: the ensemble is kept under ``ensemble="auto"`` only when its loss is lower on at least
:data:`KEEP_SHARE` of them. The weights were chosen on the same rows, so this favours the ensemble a little;
keeping the number of rounds small and requiring a consistent gain is what limits that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

#: Rounds of greedy selection (members are picked with replacement, so weights are multiples of 1 / rounds kept).
ROUNDS = 25
#: Resamples of the validation rows on which the ensemble must be better, and on what share of them.
BOOTSTRAPS = 50
KEEP_SHARE = 0.9
ENSEMBLE_CHOICES = ("auto", True, False, "stack")

#: loss(predictions, rows or None): the job's metric as a loss on the validation rows (a subset of them).
Loss = Callable[[np.ndarray, "np.ndarray | None"], float]


@dataclass(frozen=True)
class EnsemblePlan:
    """The chosen members (trial id -> weight), the ensemble's validation loss and how consistent its gain is."""

    weights: dict[int, float]
    loss: float
    best_loss: float  # the best single trial's, on the same rows
    gain_share: float  # share of bootstrap resamples on which the ensemble's loss is lower

    @property
    def members(self) -> list[int]:
        return sorted(self.weights, key=lambda t: (-self.weights[t], t))

    def beats_best(self) -> bool:
        return len(self.weights) > 1 and self.loss < self.best_loss and self.gain_share >= KEEP_SHARE


def blend(predictions: dict[int, np.ndarray], weights: dict[int, float]) -> np.ndarray:
    """The weighted mean of the members' predictions (probabilities or values)."""
    return sum(weight * predictions[trial] for trial, weight in weights.items())  # type: ignore[return-value]


def select(predictions: dict[int, np.ndarray], best: int, loss: Loss, seed: int, rounds: int = ROUNDS) -> EnsemblePlan:
    """Greedy selection with replacement, starting from trial ``best``, judged against ``best`` alone."""
    weights = greedy_weights(predictions, best, loss, rounds)
    ensemble = blend(predictions, weights)
    return EnsemblePlan(weights, loss(ensemble, None), loss(predictions[best], None),
                        gain_share(ensemble, predictions[best], loss, seed))


def near_best(ranked: list[int], best: int, losses: dict[int, float], k: int, within: float) -> list[int]:
    """Trial ``best`` and the next best of ``ranked`` whose loss (``losses``) is at most ``within`` times the best's,
    ``k`` in all: the members of a forecast combination. The trials far behind the best stay out: co2 at 20 s ran 5
    trials, and a mean of all of them (the seasonal naive one among them) was far worse than the best."""
    limit = within * losses[best]
    return [best, *[t for t in ranked if t != best and losses[t] <= limit]][:k]


def mean_of(predictions: dict[int, np.ndarray], members: list[int], best: int, loss: Loss, seed: int) -> EnsemblePlan:
    """The plain mean of ``members`` (``best`` among them), judged against ``best`` alone: forecast combination, whose
    equal weights need no validation rows to choose them."""
    weights = {t: 1.0 / len(members) for t in members}
    ensemble = blend(predictions, weights)
    return EnsemblePlan(weights, loss(ensemble, None), loss(predictions[best], None),
                        gain_share(ensemble, predictions[best], loss, seed))


def greedy_weights(predictions: dict[int, np.ndarray], best: int, loss: Loss, rounds: int = ROUNDS) -> dict[int, float]:
    """Members (trial id -> weight) of greedy selection with replacement from trial ``best``; ties go to the trial
    listed first."""
    counts = {best: 1}
    total = predictions[best].astype(float).copy()
    chosen_counts, chosen_loss = dict(counts), loss(total, None)
    for size in range(2, rounds + 1):
        losses = {trial: loss((total + values) / size, None) for trial, values in predictions.items()}
        chosen = min(losses, key=lambda t: (losses[t], t))
        counts[chosen] = counts.get(chosen, 0) + 1
        total += predictions[chosen]
        if losses[chosen] < chosen_loss:  # the best round so far; later rounds may only add noise
            chosen_counts, chosen_loss = dict(counts), losses[chosen]
    size = sum(chosen_counts.values())
    return {trial: count / size for trial, count in chosen_counts.items()}


def gain_share(ensemble: np.ndarray, single: np.ndarray, loss: Loss, seed: int, resamples: int = BOOTSTRAPS) -> float:
    """Share of bootstrap resamples of the rows on which ``ensemble`` has the lower loss."""
    rng = np.random.default_rng(seed)
    n = len(ensemble)
    wins = 0
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        wins += loss(ensemble, rows) < loss(single, rows)
    return wins / resamples


class EnsembleModel:
    """Members fitted on all rows and their weights; predicts their weighted mean (probabilities for classes)."""

    def __init__(self, members: list[tuple[Any, float]], proba: bool, n_classes: int, trial_ids: list[int] | None = None,
                 score: float | None = None) -> None:
        self.members, self.proba, self.n_classes = members, proba, n_classes
        self.trial_ids = list(trial_ids or [])  # the members' trials, in the order of ``members``
        self.score = score  # its validation score (the metric's own direction)

    def predict_proba(self, X: Any) -> np.ndarray:
        from automl.objective import align_proba

        return sum(w * align_proba(np.asarray(m.predict_proba(X), dtype=float), m, self.n_classes)
                   for m, w in self.members)  # type: ignore[return-value]

    def predict(self, X: Any) -> np.ndarray:
        if self.proba:
            return self.predict_proba(X).argmax(axis=1)
        return sum(w * np.asarray(m.predict(X), dtype=float) for m, w in self.members)  # type: ignore[return-value]

    def __repr__(self) -> str:
        parts = ", ".join(f"{type(m).__name__}×{w:.2f}" for m, w in self.members)
        return f"EnsembleModel({parts})"


__all__ = ["ENSEMBLE_CHOICES", "EnsembleModel", "EnsemblePlan", "blend", "gain_share", "select"]
