"""Early-stopping schedulers, by name ("median", "asha"; None for none)."""

from __future__ import annotations

from automl.registry import Registry
from automl.schedulers.base import Scheduler

SCHEDULERS: Registry[type[Scheduler]] = Registry("early-stopping rule", "early_stop")
SCHEDULERS.register("none", Scheduler)
SCHEDULERS.register("median", "automl.schedulers.optuna_pruners:MedianStop")
SCHEDULERS.register("asha", "automl.schedulers.optuna_pruners:ASHA")


def make_scheduler(name: str | None) -> Scheduler:
    """The scheduler called ``name``; ``None`` or "none" never stops a trial."""
    return SCHEDULERS.get("none" if name is None else name)()


__all__ = ["SCHEDULERS", "Scheduler", "make_scheduler"]
