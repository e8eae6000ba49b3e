"""Checks of AutoML's constructor parameters: one clear sentence per problem."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from automl.backends import BACKENDS, BackendOptions
from automl.cpus import available_cpus
from automl.errors import InputError
from automl.estimators import ESTIMATORS, get_adapter
from automl.registry import unknown_name_error

if TYPE_CHECKING:
    from automl.tasks import Task

logger = logging.getLogger(__name__)


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
    """Threads per trial: ``-1`` means every core this process may use (its affinity, within a container's CPU quota)."""
    if n_jobs is None or n_jobs == -1:
        return available_cpus()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise InputError(f"n_jobs={n_jobs!r} is invalid; pass a positive number of threads or -1 for all cores.")
    return n_jobs


def check_ensemble(ensemble: Any) -> None:
    from automl.ensemble import ENSEMBLE_CHOICES

    if not any(ensemble is choice or (isinstance(choice, str) and ensemble == choice) for choice in ENSEMBLE_CHOICES):
        raise InputError(f'ensemble={ensemble!r} is invalid; pass "auto" (an ensemble when it beats the best trial), '
                         'True, False or "stack" (a linear model on the trials\' predictions).')


def resolve_families(estimators: str | Sequence[str], task: "Task") -> list[str]:
    """Family names that serve ``task`` (its plug-in decides), cheapest first."""
    if estimators == "auto":
        names = [n for n in ESTIMATORS.names() if task.serves(ESTIMATORS.get(n), auto=True)]
    else:
        names = [estimators] if isinstance(estimators, str) else list(estimators)
        if not names:
            raise InputError('estimators=[] is empty; pass family names such as ["lgbm", "rf"] or "auto".')
        for name in names:
            if name not in ESTIMATORS:
                raise unknown_name_error("estimator", "estimators", name, ESTIMATORS.names())
            if not task.serves(ESTIMATORS.get(name), auto=False):
                raise InputError(f'estimator "{name}" does not support {task.kind}; remove it from estimators.')
            missing = ESTIMATORS.get(name).missing_dependency()
            if missing:
                raise InputError(f'estimator "{name}" cannot run here: {missing}, or remove it from estimators.')
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: get_adapter(n).cost_rank)


def sparse_families(families: list[str], requested: str | Sequence[str]) -> list[str]:
    """The families that take a sparse X natively; the others are left out with one log line (never densified)."""
    takers = [f for f in families if get_adapter(f).accepts_sparse]
    left_out = [f for f in families if f not in takers]
    if not takers:
        able = [n for n in ESTIMATORS.names() if ESTIMATORS.get(n).accepts_sparse]
        raise InputError(f"X is a sparse matrix, and none of estimators={requested!r} takes sparse input; add one that "
                         f"does ({', '.join(able)}), or pass X.toarray() if it fits in memory.")
    if left_out:
        logger.info("X is sparse: %s left out of the search (%s no sparse input).", ", ".join(left_out),
                    "it takes" if len(left_out) == 1 else "they take")
    return takers


DEVICES = ("cpu", "cuda")


def check_device(device: Any, backend: str) -> str:
    """``device="cuda"`` trains in-process trials on the GPU: only where one is visible, never a silent CPU run."""
    if device not in DEVICES:
        raise InputError(f"device={device!r} is invalid; pass \"cpu\" or \"cuda\".")
    if device == "cuda":
        if backend != "inprocess":
            raise InputError('device="cuda" is for the in-process backend; on Ray give trials GPUs with '
                             'resources_per_trial={"gpu": 1}.')
        from automl.gpus import visible_cuda_gpus

        count, how = visible_cuda_gpus()
        if count == 0:
            raise InputError(f'device="cuda", but this process sees no CUDA GPU ({how}); pass device="cpu" or run '
                             "on a machine with a GPU.")
    return str(device)


def check_backend(
    backend: Any, n_concurrent_trials: Any, resources_per_trial: Any, ray_address: Any, trial_retries: Any,
    trial_timeout: Any = None, memory_limit_mb: Any = None,
) -> BackendOptions:
    """The backend's options, checked before any work starts."""
    if backend not in BACKENDS:
        raise unknown_name_error("backend", "backend", backend, BACKENDS.names())
    if isinstance(n_concurrent_trials, bool) or not isinstance(n_concurrent_trials, int) or n_concurrent_trials < 1:
        raise InputError(f"n_concurrent_trials={n_concurrent_trials!r} is invalid; pass a positive integer.")
    if isinstance(trial_retries, bool) or not isinstance(trial_retries, int) or trial_retries < 0:
        raise InputError(f"trial_retries={trial_retries!r} is invalid; pass 0 (record the trial as failed) or more.")
    if trial_timeout is not None and (isinstance(trial_timeout, bool) or not isinstance(trial_timeout, (int, float))
                                      or not trial_timeout > 0):
        raise InputError(f"trial_timeout={trial_timeout!r} is invalid; pass a positive number of seconds or None "
                         "(each trial limited by the time budget only).")
    if memory_limit_mb is not None:
        from automl.backends.trial_process import process_isolation_available

        if isinstance(memory_limit_mb, bool) or not isinstance(memory_limit_mb, int) or memory_limit_mb < 64:
            raise InputError(f"memory_limit_mb={memory_limit_mb!r} is invalid; pass a whole number of megabytes "
                             "(64 or more) or None.")
        if backend != "inprocess":
            raise InputError(f'memory_limit_mb={memory_limit_mb!r} needs backend="inprocess" (Ray workers are limited '
                             "by Ray's own memory monitor); drop it or run in-process.")
        if not process_isolation_available():
            raise InputError(f"memory_limit_mb={memory_limit_mb!r} needs trials in child processes, which this "
                             "platform cannot start (no fork server); drop it.")
    resources = _check_resources(resources_per_trial)
    if backend != "ray":
        ray_only = {"n_concurrent_trials": n_concurrent_trials if n_concurrent_trials != 1 else None,
                    "resources_per_trial": resources_per_trial or None, "ray_address": ray_address}
        for name, value in ray_only.items():
            if value is not None:
                raise InputError(f'{name}={value!r} needs backend="ray" (backend={backend!r} runs one trial at a time '
                                 'with n_jobs threads); pass backend="ray" or drop it.')
    if ray_address is not None and (not isinstance(ray_address, str) or not ray_address.strip()):
        raise InputError(f'ray_address={ray_address!r} is invalid; pass "auto", an address such as "10.0.0.5:6379", or None.')
    return BackendOptions(n_concurrent_trials, resources, ray_address, trial_retries,
                          None if trial_timeout is None else float(trial_timeout), memory_limit_mb)


def _check_resources(resources: Any) -> dict[str, float]:
    if resources is None:
        return {}
    if not isinstance(resources, Mapping):
        raise InputError(f'resources_per_trial={resources!r} is invalid; pass a mapping such as {{"cpu": 1, "gpu": 0.5}}.')
    checked: dict[str, float] = {}
    for key, value in resources.items():
        if key not in ("cpu", "gpu"):
            raise InputError(f'resources_per_trial has unknown key {key!r}; use "cpu" and "gpu".')
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (key == "cpu" and value == 0):
            raise InputError(f"resources_per_trial[{key!r}]={value!r} is invalid; pass a number >= 0 (cpu > 0), fractions allowed.")
        checked[key] = float(value)
    return checked
