"""The joint space over estimator families: model selection plus each family's parameters."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from automl.space.params import Param, SearchSpace


@dataclass(frozen=True)
class JointSpace:
    """Resolved per-family spaces searched together; the family is the first choice."""

    spaces: dict[str, SearchSpace]

    @property
    def families(self) -> list[str]:
        return list(self.spaces)

    def params(self, family: str) -> tuple[Param, ...]:
        return self.spaces[family].params

    def scales(self) -> dict[str, str]:
        """``"family.param"``: "log" or "categorical" for each parameter not searched on a linear scale, as declared."""
        return {f"{family}.{p.name}": "log" if p.log else "categorical" for family in self.families
                for p in self.params(family) if p.log or p.type == "categorical"}

    def contains(self, family: str, config: dict[str, Any]) -> bool:
        """Whether ``config`` has exactly the family's active parameters (those whose conditions hold on it), each
        inside its domain."""
        params = {p.name: p for p in self.params(family)}
        try:
            active = self.spaces[family].active(config)
        except KeyError:  # an active parameter is missing
            return False
        if set(config) != set(active):
            return False
        for name, value in config.items():
            p = params[name]
            if p.type == "categorical":
                if value not in (p.choices or ()):
                    return False
            elif not (p.low <= value <= p.high) or (p.type == "int" and int(value) != value):
                return False
        return True

    def grid(self, resolution: int = 3) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every family's discretised grid, families interleaved; each family starts at its defaults."""
        per_family = [_tagged(family, _family_grid(self.spaces[family], resolution)) for family in self.families]
        for batch in itertools.zip_longest(*per_family):
            yield from (point for point in batch if point is not None)


def grid_values(param: Param, resolution: int) -> list[Any]:
    """The values a grid visits for ``param``, its default first."""
    if param.type == "categorical":
        values = list(param.choices or ())
    else:
        points = (
            np.geomspace(param.low, param.high, resolution) if param.log else np.linspace(param.low, param.high, resolution)
        )
        values = [param.clip(v) for v in points]
    ordered = [param.default] + [v for v in values if v != param.default]
    return list(dict.fromkeys(ordered))


def _tagged(family: str, configs: Iterator[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for config in configs:
        yield family, config


def _family_grid(space: SearchSpace, resolution: int) -> Iterator[dict[str, Any]]:
    """The product of every parameter's grid values; with conditions, each point once as the estimator sees it
    (its inactive parameters dropped)."""
    names = [p.name for p in space.params]
    combos = itertools.product(*(grid_values(p, resolution) for p in space.params))
    if not space.conditional:
        yield from (dict(zip(names, combo)) for combo in combos)
        return
    seen: set[str] = set()
    for combo in combos:
        config = space.active(dict(zip(names, combo)))
        key = repr(sorted(config.items()))
        if key not in seen:
            seen.add(key)
            yield config


def space_fingerprint(space: JointSpace) -> str:
    """A short hash of the resolved space (families, parameters, domains, defaults): what the trials sampled from."""
    import hashlib

    described = [(family, [p.describe() for p in space.params(family)]) for family in space.families]
    return hashlib.sha256(repr(described).encode()).hexdigest()[:16]
