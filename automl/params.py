"""Checks of AutoML's constructor parameters: one clear sentence per problem."""

from __future__ import annotations

import os
from typing import Any, Sequence

from automl.errors import InputError
from automl.estimators import ESTIMATORS, get_adapter
from automl.registry import unknown_name_error


def check_time_budget(time_budget: Any, max_trials: Any) -> None:
    if time_budget is None:
        if max_trials is None:
            raise InputError("time_budget=None needs max_trials to end the search; pass a time budget in seconds or max_trials.")
        return
    if isinstance(time_budget, bool) or not isinstance(time_budget, (int, float)) or not time_budget > 0:
        raise InputError(f"time_budget={time_budget!r} is invalid; pass a positive number of seconds (e.g. 60).")


def check_max_trials(max_trials: Any) -> None:
    if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1):
        raise InputError(f"max_trials={max_trials!r} is invalid; pass a positive integer or None.")


def check_register(register: Any, tracking: bool) -> None:
    if register is not None and (not tracking or not isinstance(register, str) or not register.strip()):
        raise InputError(f"register={register!r} needs tracking=True and a non-empty model name.")


def resolve_n_jobs(n_jobs: Any) -> int:
    """Threads per trial: ``-1`` means every core this process may use."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n_jobs is None or n_jobs == -1:
        return available
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise InputError(f"n_jobs={n_jobs!r} is invalid; pass a positive number of threads or -1 for all cores.")
    return n_jobs


def resolve_families(estimators: str | Sequence[str], task: str) -> list[str]:
    """Family names for ``task`` ("classification"/"regression"), cheapest first."""
    if estimators == "auto":
        names = [n for n in ESTIMATORS.names() if task in ESTIMATORS.get(n).tasks]
    else:
        names = [estimators] if isinstance(estimators, str) else list(estimators)
        if not names:
            raise InputError('estimators=[] is empty; pass family names such as ["lgbm", "rf"] or "auto".')
        for name in names:
            if name not in ESTIMATORS:
                raise unknown_name_error("estimator", "estimators", name, ESTIMATORS.names())
            if task not in ESTIMATORS.get(name).tasks:
                raise InputError(f'estimator "{name}" does not support {task}; remove it from estimators.')
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: get_adapter(n).cost_rank)
