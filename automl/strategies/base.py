"""The search-strategy plug-in: ask for the next configuration, tell how it went."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from automl.space import JointSpace
from automl.study import Suggestion, Trial

if TYPE_CHECKING:
    from automl.cost import CostModel


class Strategy:
    """Proposes configurations over a joint space.

    ``families`` lists the estimator families cheapest first; strategies start
    from each family's default configuration in that order. ``cost_model``
    estimates trial costs deterministically (``automl.cost``); strategies that
    choose families by cost without measuring it use it.
    """

    name = "base"

    def __init__(
        self, space: JointSpace, seed: int, families: Sequence[str] | None = None, cost_model: CostModel | None = None
    ) -> None:
        self.space = space
        self.seed = seed
        self.families = list(families or space.families)
        self.cost_model = cost_model

    def ask(self) -> Suggestion | None:
        """The next configuration, or ``None`` when the strategy has nothing left to try."""
        raise NotImplementedError

    def tell(self, suggestion: Suggestion, trial: Trial) -> None:
        """Learn from a finished trial (status, loss)."""
