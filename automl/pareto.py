"""Multi-objective jobs: ``objectives=["score", "predict_ms_per_row"]`` (or ``"model_mb"``) and their Pareto front.

The score is always the first objective; the others are measurements of each trial's model (``automl.constraints``).
TPE searches them together (Optuna's multi-objective TPE); random and grid search learn nothing from results, so
they take objectives as they are. The job still ships its best-scoring trial; ``pareto_front()`` lists the ok
trials no other ok trial beats on every objective, and ``select(trial_id)`` ships another of them.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from automl.constraints import LIMITS
from automl.errors import InputError
from automl.records import OK, Trial

#: Strategies that take several objectives.
MULTI_OBJECTIVE_STRATEGIES = ("tpe", "random", "grid")


def parse_objectives(value: Any, strategy: str) -> tuple[str, ...]:
    """The objectives beyond the score (empty for a one-objective job), checked: one sentence per problem."""
    if value is None:
        return ()
    allowed = ["score", *LIMITS]
    names = list(value) if isinstance(value, (list, tuple)) else None
    if not names or not all(isinstance(n, str) for n in names) or names[0] != "score" or len(names) < 2:
        raise InputError(f"objectives={value!r} is invalid; pass a list that starts with \"score\" and adds "
                         f"{' and/or '.join(repr(n) for n in LIMITS)}, e.g. [\"score\", \"predict_ms_per_row\"].")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InputError(f"objectives names {unknown[0]!r}, which is not an objective; choose from: {', '.join(allowed)}.")
    if len(set(names)) < len(names):
        raise InputError(f"objectives={names!r} names an objective twice; name each once.")
    if strategy not in (*MULTI_OBJECTIVE_STRATEGIES, "auto"):
        raise InputError(f"objectives={names!r} need a strategy that searches several objectives: "
                         f"{', '.join(repr(s) for s in MULTI_OBJECTIVE_STRATEGIES)} (\"tpe\" is multi-objective TPE); "
                         f"got strategy={strategy!r}.")
    return tuple(names[1:])


def objective_values(trial: Trial, objectives: Sequence[str]) -> list[float] | None:
    """The values a multi-objective search minimises: the loss, then each measurement (None: not all known)."""
    if trial.loss is None or any(name not in trial.metrics for name in objectives):
        return None
    return [float(trial.loss), *(float(trial.metrics[name]) for name in objectives)]


def nondominated(values: np.ndarray) -> np.ndarray:
    """Per row of ``values`` (rows x objectives, all minimised): no other row is as good on every one and better on
    one."""
    values = np.asarray(values, dtype=float)
    return np.array([not np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1)) for v in values], dtype=bool)


def pareto_front(trials: Sequence[Trial], objectives: Sequence[str]) -> list[Trial]:
    """The ok trials on the Pareto front of the loss and ``objectives``; best score first."""
    scored = [(t, v) for t in trials if t.status == OK and (v := objective_values(t, objectives)) is not None]
    if not scored:
        return []
    keep = nondominated(np.array([v for _, v in scored]))
    return sorted((t for (t, _), kept in zip(scored, keep) if kept), key=lambda t: (t.loss, t.trial_id))  # type: ignore[arg-type, return-value]


__all__ = ["MULTI_OBJECTIVE_STRATEGIES", "nondominated", "objective_values", "pareto_front", "parse_objectives"]
