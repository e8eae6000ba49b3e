"""Early-stopping schedulers, by name ("median", "asha", "hyperband"; None for none)."""

from __future__ import annotations

from automl.registry import Registry, unknown_name_error
from automl.schedulers.base import Scheduler

SCHEDULERS: Registry[type[Scheduler]] = Registry("early-stopping rule", "early_stop")
SCHEDULERS.register("none", Scheduler)
SCHEDULERS.register("median", "automl.schedulers.optuna_pruners:MedianStop")
SCHEDULERS.register("asha", "automl.schedulers.optuna_pruners:ASHA")
SCHEDULERS.register("hyperband", "automl.schedulers.optuna_pruners:Hyperband")


#: What early_stop="auto" means. ASHA: at 30 s on the bundled sets it lifted automl's mean test
#: score to at least FLAML's on all four (benchmarks/results/core_asha.json vs core.json).
AUTO_EARLY_STOP = "asha"


def resolve_early_stop(name: str | None) -> str:
    """A registered scheduler name for ``name`` ("auto" -> ASHA, None -> "none")."""
    if name is None:
        return "none"
    if name == "auto":
        return AUTO_EARLY_STOP
    if name not in SCHEDULERS:
        raise unknown_name_error("early-stopping rule", "early_stop", name, [*SCHEDULERS.names(), "auto"])
    return name


def make_scheduler(name: str | None) -> Scheduler:
    """The scheduler for ``name`` (see :func:`resolve_early_stop`)."""
    return SCHEDULERS.get(resolve_early_stop(name))()


__all__ = ["AUTO_EARLY_STOP", "SCHEDULERS", "Scheduler", "make_scheduler", "resolve_early_stop"]
