"""Search strategies, by name."""

from __future__ import annotations

from automl.registry import Registry, unknown_name_error
from automl.strategies.base import Strategy

STRATEGIES: Registry[type[Strategy]] = Registry("strategy", "strategy")
STRATEGIES.register("random", "automl.strategies.optuna_search:RandomStrategy")
STRATEGIES.register("tpe", "automl.strategies.optuna_search:TPEStrategy")
STRATEGIES.register("bo", "automl.strategies.gp_search:GPStrategy")
STRATEGIES.register("grid", "automl.strategies.grid:GridStrategy")
STRATEGIES.register("cfo", "automl.strategies.flaml_search:CFOStrategy")
STRATEGIES.register("blendsearch", "automl.strategies.flaml_search:BlendSearchStrategy")
#: Rows x features per second of budget above which the data counts as large for its budget.
LARGE_FOR_BUDGET = 20_000


def check_strategy_name(name: str) -> None:
    """Raise a "did you mean" error unless ``name`` is a strategy or "auto"."""
    if name != "auto" and name not in STRATEGIES:
        raise unknown_name_error("strategy", "strategy", name, [*STRATEGIES.names(), "auto"])


def resolve_strategy_name(name: str, n_rows: int = 0, n_features: int = 0, time_budget: float | None = None) -> tuple[str, str]:
    """The concrete strategy for ``name`` and why it was chosen.

    "auto" picks CFO when the data is large for the budget (each trial is costly,
    so start cheap and grow only when it pays) and TPE otherwise (trials are
    cheap, so a model of the whole space pays off).
    """
    check_strategy_name(name)
    if name != "auto":
        return name, "chosen by the user"
    if time_budget is not None and n_rows * n_features / time_budget > LARGE_FOR_BUDGET:
        return "cfo", f"{n_rows} x {n_features} data is large for a {time_budget:g}s budget"
    return "tpe", f"{n_rows} x {n_features} data is small for the budget"


__all__ = ["LARGE_FOR_BUDGET", "STRATEGIES", "Strategy", "check_strategy_name", "resolve_strategy_name"]
