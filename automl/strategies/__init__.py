"""Search strategies, by name."""

from __future__ import annotations

from automl.registry import Registry, unknown_name_error
from automl.strategies.base import Strategy

STRATEGIES: Registry[type[Strategy]] = Registry("strategy", "strategy")
STRATEGIES.register("random", "automl.strategies.optuna_search:RandomStrategy")
STRATEGIES.register("tpe", "automl.strategies.optuna_search:TPEStrategy")
STRATEGIES.register("grid", "automl.strategies.grid:GridStrategy")
#: What strategy="auto" means: Optuna's TPE, which starts from every family's defaults.
AUTO_STRATEGY = "tpe"


def resolve_strategy_name(name: str) -> str:
    """Map "auto" to a concrete name and check that the name exists."""
    if name == "auto":
        return AUTO_STRATEGY
    if name not in STRATEGIES:
        raise unknown_name_error("strategy", "strategy", name, [*STRATEGIES.names(), "auto"])
    return name


__all__ = ["AUTO_STRATEGY", "STRATEGIES", "Strategy", "resolve_strategy_name"]
