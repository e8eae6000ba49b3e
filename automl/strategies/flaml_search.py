"""CFO and BlendSearch: FLAML's own searchers (``flaml.tune.searcher``), one per family, with a cost-aware family choice.

Each family's searcher starts at the family's low-cost point (``low_cost`` in
searchspaces/) and is told every trial's loss and measured cost, so it moves
toward costly configurations only when they pay. With portfolio starts
(``automl.portfolio``), FLAML evaluates them after the low-cost point and CFO
starts its local search from the best of them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from automl.optuna_logs import quiet_optuna
from automl.row_fidelity import MIN_ROWS
from automl.space import JointSpace, Param, SearchSpace
from automl.strategies.base import Strategy
from automl.study import INFEASIBLE, OK, Suggestion, Trial

if TYPE_CHECKING:
    from automl.constraints import Constraints
    from automl.cost import CostModel

logger = logging.getLogger(__name__)
COST_KEY = "time_total_s"
#: FLAML's resource dimension: a trial's training rows (automl.row_fidelity)
ROWS_ATTR = "automl_training_rows"
#: Calls of a searcher's suggest before its family counts as exhausted (a converged CFO thread costs one None).
SUGGEST_ATTEMPTS = 3


def flaml_space(space: SearchSpace) -> dict[str, Any]:
    """The family's space as flaml.tune domains (integer upper bounds are exclusive there)."""
    from flaml import tune

    domains: dict[str, Any] = {}
    for p in space.params:
        if p.type == "categorical":
            domains[p.name] = tune.choice(list(p.choices or ()))
        elif p.low == p.high:
            domains[p.name] = p.low
        elif p.type == "int":
            domains[p.name] = (tune.lograndint if p.log else tune.randint)(int(p.low), int(p.high) + 1)
        else:
            domains[p.name] = (tune.loguniform if p.log else tune.uniform)(float(p.low), float(p.high))
    return domains


def _cast(p: Param, value: Any) -> Any:
    if p.type == "categorical":
        return value
    return p.clip(value.item() if hasattr(value, "item") else value)


class FlamlStrategy(Strategy):
    """Drives one FLAML searcher per family from the product's ask/tell loop."""

    name = "flaml"

    def __init__(
        self, space: JointSpace, seed: int, families: Sequence[str] | None = None, cost_model: CostModel | None = None,
        constraints: Constraints | None = None, starts: Mapping[str, Sequence[dict[str, Any]]] | None = None,
        own_starts: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(space, seed, families, cost_model, constraints, starts=starts, own_starts=own_starts)  # the family choice here learns measured costs, as FLAML's
        self.chooser = self.family_chooser()
        self.searchers: dict[str, Any] = {}
        self.exhausted: set[str] = set()
        self._asked = 0
        self._suggested: dict[str, dict[str, Any]] = {}  # token -> the searcher's own config
        self.max_rows: int | None = None  # with sample_rows: the training rows FLAML's resource dimension grows to

    def sample_rows(self, train_rows: int) -> bool:
        """FLAML's own resource dimension: each family's search starts on ``MIN_ROWS`` rows and grows them 4x
        whenever its local search settles, up to all ``train_rows`` (as FLAML's AutoML samples)."""
        self.max_rows = int(train_rows)
        return True

    def make_searcher(self, family: str) -> Any:
        raise NotImplementedError

    def _searcher_kwargs(self, family: str) -> dict[str, Any]:
        space = self.space.spaces[family]
        low_cost = {p.name: p.low_cost for p in space.params if p.low_cost is not None}
        return {
            "metric": "loss",
            "mode": "min",
            "space": flaml_space(space),
            "low_cost_partial_config": low_cost or None,
            # every parameter: FLAML draws them all (a start's inactive ones at their start values)
            "points_to_evaluate": [{p.name: p.start for p in space.params},
                                   *({p.name: c.get(p.name, p.start) for p in space.params} for c in self.starts.get(family, []))],
            "seed": self.seed + 7919 * self.families.index(family),
            "cost_attr": COST_KEY,
            "metric_constraints": None if self.constraints is None else [
                (name, "<=", limit) for name, limit in self.constraints.limits().items()],
            **({} if self.max_rows is None else
               {"resource_attr": ROWS_ATTR, "min_resource": MIN_ROWS, "max_resource": self.max_rows}),
        }

    def ask(self) -> Suggestion | None:
        while len(self.exhausted) < len(self.families):
            family = self.chooser.choose([f for f in self.families if f not in self.exhausted])
            token = f"{family}-{self._asked}"
            self._asked += 1
            with quiet_optuna():  # BlendSearch runs an Optuna study of its own
                if family not in self.searchers:
                    self.searchers[family] = self.make_searcher(family)
                config = self._suggest(family, token)
            if config is None:
                logger.debug("%s searcher for %s has nothing more to suggest", self.name, family)
                self.exhausted.add(family)
                continue
            self._suggested[token] = config
            params = {p.name: p for p in self.space.params(family)}
            # FLAML draws every parameter; the estimator gets the active ones (conditions hold), as from any strategy
            active = self.space.spaces[family].active({k: _cast(params[k], v) for k, v in config.items() if k in params})
            return Suggestion(family, active, token, rows=self._rows(config))
        return None

    def _rows(self, config: dict[str, Any]) -> int | None:
        """The training rows FLAML's resource dimension gives ``config``; None: all of them."""
        rows = config.get(ROWS_ATTR)
        if self.max_rows is None or rows is None or round(rows) >= self.max_rows:
            return None
        return int(round(rows))

    def _suggest(self, family: str, token: str) -> dict[str, Any] | None:
        """The searcher's next config; FLAML answers None once when a local search converges, then restarts it."""
        for _ in range(SUGGEST_ATTEMPTS):
            config = self.searchers[family].suggest(token)
            if config is not None:
                return config
        return None

    def tell(self, suggestion: Suggestion, trial: Trial) -> None:
        searcher = self.searchers[suggestion.estimator]
        config = self._suggested.pop(suggestion.token)
        with quiet_optuna():
            if trial.status in (OK, INFEASIBLE) and trial.loss is not None:  # FLAML judges the limits itself
                measured = {name: trial.metrics[name] for name in (self.constraints.limits() if self.constraints else ())
                            if name in trial.metrics}
                # "config/<name>" as Ray Tune flattens it: CFO reads its start among several given points from those
                result = {"loss": trial.loss, COST_KEY: trial.duration_s, "config": config, **measured,
                          **{f"config/{k}": v for k, v in config.items()}}
                searcher.on_trial_complete(suggestion.token, result)
            else:
                searcher.on_trial_complete(suggestion.token, None, error=True)
        self.chooser.update(suggestion.estimator, trial.loss if trial.status == OK else None, trial.duration_s)


class CFOStrategy(FlamlStrategy):
    """Cost-frugal optimisation: randomised local search from the low-cost point (flaml.tune.searcher.CFO)."""

    name = "cfo"

    def make_searcher(self, family: str) -> Any:
        from flaml.tune.searcher.blendsearch import CFO

        return CFO(**self._searcher_kwargs(family))


class BlendSearchStrategy(FlamlStrategy):
    """CFO's local search blended with a global Bayesian search (flaml.tune.searcher.BlendSearch)."""

    name = "blendsearch"

    def make_searcher(self, family: str) -> Any:
        from flaml.tune.searcher.blendsearch import BlendSearch

        return BlendSearch(**self._searcher_kwargs(family))
