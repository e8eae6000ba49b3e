"""Stacking (``ensemble="stack"``): a regularised linear model on the trials' out-of-fold predictions.

The second level sees, per row, each member's out-of-fold prediction: the positive class's probability
(binary), every class's probability (multiclass) or the value (regression), and learns how to
combine them (probabilities, not log-probabilities: with logits the stack's cross-validated log_loss
was worse than the best trial's on wine, breast_cancer and digits; with probabilities it beat it on
digits, 0.099 against 0.112): an L2-regularised ``LogisticRegression`` (C=1: a handful of fits, inside the budget's
refit phase) or ``RidgeCV`` (its penalty chosen by efficient leave-one-out). Its validation score is honest: the second level's predictions for the
out-of-fold rows are themselves cross-validated (``cross_val_predict``), so no row is scored by a
model that saw it. The members are the best kept trial of each family (at most :data:`MAX_MEMBERS`,
best first), refit on all rows when shipped; the second level is then fitted on every out-of-fold row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

from automl.ensemble import Loss, gain_share

#: Members of a stack: the best kept trial of each family, best first.
MAX_MEMBERS = 5
#: Folds of the second level's own cross-validation (for its honest out-of-fold score).
LEVEL2_FOLDS = 5


def level_one(predictions: list[np.ndarray], proba: bool) -> np.ndarray:
    """The second level's features: one column per member (binary, regression) or per member and class."""
    columns = []
    for values in predictions:
        if not proba:
            columns.append(np.asarray(values, dtype=float).reshape(-1, 1))
            continue
        p = np.asarray(values, dtype=float)
        columns.append(p[:, 1:2] if p.shape[1] == 2 else p)
    return np.hstack(columns)


def second_level(proba: bool, seed: int) -> Any:
    """A fresh, regularised second-level model."""
    if proba:
        return LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    return RidgeCV(alphas=np.logspace(-3, 3, 13))


def _output(model: Any, features: np.ndarray, proba: bool, n_classes: int) -> np.ndarray:
    if not proba:
        return np.asarray(model.predict(features), dtype=float)
    out = np.zeros((len(features), n_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(features)
    return out


@dataclass(frozen=True)
class StackPlan:
    """The members, the second level fitted on every out-of-fold row, and its cross-validated validation loss."""

    members: list[int]
    stacker: Any
    loss: float
    best_loss: float
    gain_share: float

    @property
    def weights(self) -> dict[int, float]:
        """Each member's share of the second level's absolute coefficients (for listing the composition)."""
        coef = np.abs(np.atleast_2d(np.asarray(self.stacker.coef_, dtype=float)))
        per_member = coef.reshape(coef.shape[0], len(self.members), -1).sum(axis=(0, 2))
        total = per_member.sum()
        shares = per_member / total if total > 0 else np.full(len(self.members), 1 / len(self.members))
        return {t: float(s) for t, s in zip(self.members, shares)}

    def beats_best(self) -> bool:
        return len(self.members) > 1 and self.loss < self.best_loss


def plan_stack(predictions: dict[int, np.ndarray], ranked: list[int], families: dict[int, str], y: np.ndarray,
               loss: Loss, proba: bool, n_classes: int, seed: int) -> StackPlan | None:
    """A stack over the best kept trial of each family (``ranked``: kept trials, best first); None if one family."""
    members: list[int] = []
    for trial in ranked:
        if families[trial] not in {families[m] for m in members}:
            members.append(trial)
    members = members[:MAX_MEMBERS]
    if len(members) < 2:
        return None
    features = level_one([predictions[t] for t in members], proba)
    smallest = np.bincount(y.astype(int)).min() if proba else len(y)
    if proba and smallest < LEVEL2_FOLDS:
        return None  # a class too rare to cross-validate the second level
    folds = (StratifiedKFold if proba else KFold)(LEVEL2_FOLDS, shuffle=True, random_state=seed)
    method = "predict_proba" if proba else "predict"
    honest = cross_val_predict(second_level(proba, seed), features, y, cv=folds, method=method)
    if proba and honest.shape[1] != n_classes:
        return None
    stacker = second_level(proba, seed).fit(features, y)
    best = predictions[ranked[0]]
    return StackPlan(members, stacker, loss(honest, None), loss(best, None), gain_share(honest, best, loss, seed))


class StackedModel:
    """Members fitted on all rows and the second level that combines their predictions."""

    def __init__(self, members: list[Any], plan: StackPlan, proba: bool, n_classes: int, score: float | None = None) -> None:
        weights = plan.weights
        self.members = [(m, weights[t]) for m, t in zip(members, plan.members)]  # (model, share) as EnsembleModel's
        self.stacker, self.proba, self.n_classes = plan.stacker, proba, n_classes
        self.trial_ids = list(plan.members)
        self.score = score  # its cross-validated validation score (the metric's own direction)

    def _features(self, X: Any) -> np.ndarray:
        from automl.objective import align_proba

        if self.proba:
            outputs = [align_proba(np.asarray(m.predict_proba(X), dtype=float), m, self.n_classes) for m, _ in self.members]
        else:
            outputs = [np.asarray(m.predict(X), dtype=float) for m, _ in self.members]
        return level_one(outputs, self.proba)

    def predict_proba(self, X: Any) -> np.ndarray:
        return _output(self.stacker, self._features(X), True, self.n_classes)

    def predict(self, X: Any) -> np.ndarray:
        if self.proba:
            return self.predict_proba(X).argmax(axis=1)
        return _output(self.stacker, self._features(X), False, self.n_classes)

    def __repr__(self) -> str:
        parts = ", ".join(type(m).__name__ for m, _ in self.members)
        return f"StackedModel({parts} -> {type(self.stacker).__name__})"


__all__ = ["MAX_MEMBERS", "StackPlan", "StackedModel", "level_one", "plan_stack"]
