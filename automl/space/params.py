"""Typed hyperparameters and per-family search spaces."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from automl.space.expressions import condition_holds, evaluate

PARAM_TYPES = ("int", "float", "categorical")


@dataclass(frozen=True)
class Param:
    """One hyperparameter.

    ``low`` / ``high`` may be numbers or bound expressions over the data
    (``n_rows``, ``n_features``, ``n_classes``) until :meth:`resolve` is called.
    ``tasks`` limits the parameter to "classification" or "regression". ``condition`` (over parameters declared
    before it, ``automl.space.expressions.check_condition``) makes it exist only where it holds: the width of a
    third layer only when ``n_layers >= 3``; an inactive parameter is not sampled and not passed to the estimator.
    """

    name: str
    type: str
    default: Any
    low: float | str | None = None
    high: float | str | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    low_cost: Any = None
    tasks: tuple[str, ...] | None = None
    description: str = ""
    condition: str | None = None

    @property
    def start(self) -> Any:
        """Where a cost-frugal search starts: the low-cost value where declared, else the default."""
        return self.default if self.low_cost is None else self.low_cost

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "float")

    def applies_to(self, task: str) -> bool:
        return self.tasks is None or task in self.tasks

    def resolve(self, names: Mapping[str, float]) -> "Param":
        """Evaluate data-dependent bounds and clip the default and low-cost point into them."""
        if not self.is_numeric:
            return self
        low, high = (_number(b, names) for b in (self.low, self.high))
        if self.type == "int":
            low, high = math.ceil(low), math.floor(high)
        high = max(high, low)
        cast = int if self.type == "int" else float
        default = cast(min(max(self.default, low), high))
        low_cost = None if self.low_cost is None else cast(min(max(self.low_cost, low), high))
        return replace(self, low=cast(low), high=cast(high), default=default, low_cost=low_cost)

    def clip(self, value: Any) -> Any:
        """Return ``value`` inside the (resolved) bounds and of the right type."""
        if not self.is_numeric:
            return value
        value = min(max(value, self.low), self.high)
        return int(round(value)) if self.type == "int" else float(value)

    def describe(self) -> str:
        if self.type == "categorical":
            domain = "{" + ", ".join(map(str, self.choices or ())) + "}"
        else:
            domain = f"[{self.low}, {self.high}]" + (" log" if self.log else "")
        extra = f", low_cost={self.low_cost}" if self.low_cost is not None else ""
        only = f", only {'/'.join(self.tasks)}" if self.tasks else ""
        when = f", if {self.condition}" if self.condition else ""
        return f"{self.name}: {self.type} {domain}, default={self.default}{extra}{only}{when}"


def _number(bound: float | str | None, names: Mapping[str, float]) -> float:
    if isinstance(bound, str):
        return evaluate(bound, names)
    return float(bound)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SearchSpace:
    """The hyperparameters of one estimator family."""

    family: str
    params: tuple[Param, ...]
    source: str = "<dict>"

    def for_task(self, task: str, names: Mapping[str, float]) -> "SearchSpace":
        """The parameters that apply to ``task``, with bounds resolved on the data."""
        kept = tuple(p.resolve(names) for p in self.params if p.applies_to(task))
        return replace(self, params=kept)

    def default_config(self) -> dict[str, Any]:
        return self.sample(lambda p: p.default)

    def low_cost_config(self) -> dict[str, Any]:
        """The cheapest sensible point: low-cost values where declared, defaults elsewhere."""
        return self.sample(lambda p: p.start)

    def sample(self, draw: Callable[[Param], Any]) -> dict[str, Any]:
        """A configuration of the active parameters: ``draw(param)`` for each, in declaration order, where its
        condition holds on the values drawn before it (a define-by-run sampler draws only those)."""
        config: dict[str, Any] = {}
        for param in self.params:
            if param.condition is None or condition_holds(param.condition, config):
                config[param.name] = draw(param)
        return config

    def active(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` without the parameters whose conditions do not hold on it (a searcher that draws every
        parameter, as FLAML's and a grid do, gets its configuration back as the estimator sees it)."""
        return self.sample(lambda p: config[p.name])

    @property
    def conditional(self) -> bool:
        return any(p.condition for p in self.params)

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)
