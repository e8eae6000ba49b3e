"""The search-strategy plug-in: ask for the next configuration, tell how it went."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from automl.space import JointSpace
from automl.strategies.family_choice import FamilyChooser
from automl.study import Suggestion, Trial

if TYPE_CHECKING:
    from automl.constraints import Constraints
    from automl.cost import CostModel


class Strategy:
    """Proposes configurations over a joint space.

    ``families`` lists the estimator families cheapest first; strategies start
    from each family's default configuration in that order. ``cost_model``
    estimates trial costs deterministically (``automl.cost``); strategies that
    choose families by cost without measuring it use it. ``constraints`` (deployment limits) are told to the
    strategies whose samplers take them: TPE and BO (Optuna's ``constraints_func``), CFO and BlendSearch (FLAML's
    ``metric_constraints``); random and grid search do not learn from results, so they need not be told.
    ``objectives`` (measurements beside the loss) are searched by TPE (multi-objective); the others ignore them.
    ``starts`` (``automl.portfolio``: per family, configurations known to work on data of this shape) are tried
    after the family's default and before the strategy's own draws, and told to it like any trial; grid search,
    which visits a fixed grid, ignores them. ``own_starts`` counts, per family, the first of its ``starts`` that are
    the family's own (``EstimatorAdapter.starts``: a baseline's variants): they run right after its default, before
    the next family's.
    """

    name = "base"

    def __init__(
        self, space: JointSpace, seed: int, families: Sequence[str] | None = None, cost_model: CostModel | None = None,
        constraints: Constraints | None = None, objectives: tuple[str, ...] = (),
        starts: Mapping[str, Sequence[dict[str, Any]]] | None = None, own_starts: Mapping[str, int] | None = None,
    ) -> None:
        self.space = space
        self.seed = seed
        self.families = list(families or space.families)
        self.cost_model = cost_model
        self.constraints = constraints
        self.objectives = objectives  # measurements minimised beside the loss (automl.pareto); TPE searches them
        self.starts = {f: [dict(c) for c in configs] for f, configs in (starts or {}).items() if f in self.families}
        self.own_starts = {f: min(int(n), len(self.starts.get(f, []))) for f, n in (own_starts or {}).items()}

    def first_configs(self, family: str) -> list[dict[str, Any]]:
        """The configurations ``family``'s search begins with: its default, then its own and its portfolio starts."""
        return [self.space.spaces[family].default_config(), *self.starts.get(family, [])]

    def first_points(self) -> dict[str, int]:
        """Per family, how many configurations its search begins with (the family choice's ``first_points``)."""
        return {family: 1 + len(self.starts.get(family, [])) for family in self.families}

    def family_chooser(self) -> FamilyChooser:
        """The cost-aware family choice, handing out each family's default and own starts, then a portfolio start."""
        leading = {family: 1 + self.own_starts.get(family, 0) for family in self.families}
        return FamilyChooser(self.families, self.seed, self.first_points(), leading)

    def excess(self, trial: Trial) -> list[float] | None:
        """How far ``trial``'s model is past each limit (<= 0: within it); None when nothing was measured."""
        if self.constraints is None or not all(name in trial.metrics for name in self.constraints.limits()):
            return None
        return self.constraints.excess(trial.metrics)

    def sample_rows(self, train_rows: int) -> bool:
        """Let the strategy choose how many of the ``train_rows`` training rows each trial fits (``Suggestion.rows``,
        ``automl.row_fidelity``); False where it cannot (its trials fit every row). Called before the first ask."""
        return False

    def ask(self) -> Suggestion | None:
        """The next configuration, or ``None`` when the strategy has nothing left to try."""
        raise NotImplementedError

    def tell(self, suggestion: Suggestion, trial: Trial) -> None:
        """Learn from a finished trial (status, loss)."""
