"""Grid search over each family's discretised space; it ends when the grid is exhausted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from automl.space import JointSpace
from automl.strategies.base import Strategy
from automl.study import Suggestion

if TYPE_CHECKING:
    from automl.constraints import Constraints
    from automl.cost import CostModel


class GridStrategy(Strategy):
    """Visits ``resolution`` values per numeric parameter (log-spaced where declared)."""

    name = "grid"

    def __init__(
        self, space: JointSpace, seed: int, families: Sequence[str] | None = None, cost_model: CostModel | None = None,
        constraints: Constraints | None = None, objectives: tuple[str, ...] = (), resolution: int = 3,
        starts: Mapping[str, Sequence[dict[str, Any]]] | None = None, own_starts: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(space, seed, families, cost_model, constraints, objectives)  # a fixed grid: no starts
        ordered = JointSpace({f: space.spaces[f] for f in self.families})
        self._points = ordered.grid(resolution)

    def ask(self) -> Suggestion | None:
        point = next(self._points, None)
        return None if point is None else Suggestion(point[0], point[1])
