"""Random and TPE search through Optuna's ask/tell interface, over the joint space.

With a cost model and several families, the family of each trial after the
defaults is drawn by the cost-aware ``FamilyChooser`` (fed estimated, never
measured, costs, so a seed still fixes the trials) and Optuna's sampler draws
that family's parameters; without one, the family is one more categorical
parameter of the sampler.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import optuna

from automl.optuna_logs import quiet_optuna
from automl.pareto import objective_values
from automl.space import JointSpace, Param
from automl.strategies.base import Strategy
from automl.study import FAILED, INFEASIBLE, OK, PRUNED, TIMEOUT, Suggestion, Trial

if TYPE_CHECKING:
    from automl.constraints import Constraints
    from automl.cost import CostModel

#: A trial cut by the time budget says nothing of its configuration: Optuna's samplers ignore it, as a failure.
_STATES = {OK: optuna.trial.TrialState.COMPLETE, PRUNED: optuna.trial.TrialState.PRUNED, FAILED: optuna.trial.TrialState.FAIL,
           TIMEOUT: optuna.trial.TrialState.FAIL}
ESTIMATOR_KEY = "estimator"
#: Draws that may repeat a finished configuration before one is handed out anyway (a small space may be exhausted).
MAX_REPEATS = 10


def flat_name(family: str, param: str) -> str:
    return f"{family}.{param}"


class OptunaStrategy(Strategy):
    """Samples with an Optuna sampler; each family's defaults (then its portfolio starts) are enqueued first."""

    name = "optuna"

    def __init__(
        self, space: JointSpace, seed: int, families: Sequence[str] | None = None, cost_model: CostModel | None = None,
        constraints: Constraints | None = None, objectives: tuple[str, ...] = (),
        starts: Mapping[str, Sequence[dict[str, Any]]] | None = None,
        own_starts: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(space, seed, families, cost_model, constraints, objectives, starts, own_starts)
        self.asked: dict[int, optuna.Trial] = {}  # Optuna trial number -> the trial, until it is told
        with quiet_optuna(), warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study = optuna.create_study(directions=["minimize"] * (1 + len(objectives)), sampler=self.make_sampler())
        several = cost_model is not None and len(self.families) > 1
        self.chooser = self.family_chooser() if several else None
        #: a finished configuration's values (loss, then the objectives' measurements), estimated cost and excess over
        #: the limits (None: not measured)
        self.finished: dict[str, tuple[list[float], float, list[float] | None]] = {}
        if self.chooser is None:
            for family in self.families:
                for config in self.first_configs(family):
                    self.study.enqueue_trial(self._flat(family, config))

    @staticmethod
    def _flat(family: str, config: dict[str, Any]) -> dict[str, Any]:
        return {ESTIMATOR_KEY: family, **{flat_name(family, k): v for k, v in config.items()}}

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        raise NotImplementedError

    #: Whether the sampler learns from constraint values (then an infeasible trial is told as complete, with its
    #: loss and its excess over each limit as Optuna constraints; otherwise as failed).
    takes_constraints = False

    def _set_constraints(self, number: int, excess: list[float] | None) -> None:
        """Tell Optuna the trial's excess over each limit (feasible when every value is <= 0)."""
        trial = self.asked.pop(number, None)
        if trial is not None and excess is not None and self.takes_constraints:
            set_constraints(trial, self.constraints.limits(), excess)  # type: ignore[union-attr]

    def _state(self, status: str) -> optuna.trial.TrialState:
        if status == INFEASIBLE:
            return optuna.trial.TrialState.COMPLETE if self.takes_constraints else optuna.trial.TrialState.FAIL
        return _STATES.get(status, optuna.trial.TrialState.FAIL)

    def ask(self) -> Suggestion | None:
        """The next configuration; one that already finished is told its result again instead of being refitted.

        Small categorical spaces (a forecasting family has a handful of configurations) would otherwise be
        sampled again and again. Repeats are told to the sampler and the family choice as the same loss at
        the same estimated cost, so an exhausted family loses its share; after :data:`MAX_REPEATS` repeats
        in a row the repeat is handed out anyway. A seed still fixes the trials.
        """
        for _ in range(MAX_REPEATS):
            suggestion = self._draw()
            known = self.finished.get(_key(suggestion.estimator, suggestion.config))
            if known is None:
                return suggestion
            values, cost, excess = known
            feasible = excess is None or max(excess) <= 0
            self._set_constraints(suggestion.token, excess)
            with quiet_optuna():
                self.study.tell(suggestion.token, self._told(values) if feasible or self.takes_constraints else None,
                                state=self._state(OK if feasible else INFEASIBLE))
            if self.chooser is not None:
                self.chooser.update(suggestion.estimator, values[0] if feasible else None, cost)
        return self._draw()

    def _draw(self) -> Suggestion:
        if self.chooser is not None:
            family = self.chooser.choose()  # untried families first, cheapest first: their defaults
            first = self.first_configs(family)
            chosen = self.chooser.records[family].chosen  # the default, then the portfolio's starts, then the sampler
            self.study.enqueue_trial(self._flat(family, first[chosen - 1]) if chosen <= len(first) else {ESTIMATOR_KEY: family})
        trial = self.study.ask()
        self.asked[trial.number] = trial
        family = trial.suggest_categorical(ESTIMATOR_KEY, self.families)
        config = self.space.spaces[family].sample(lambda p: _suggest(trial, flat_name(family, p.name), p))
        return Suggestion(family, config, token=trial.number)

    def _told(self, values: list[float]) -> float | list[float]:
        return values if self.objectives else values[0]

    def tell(self, suggestion: Suggestion, trial: Trial) -> None:
        state = self._state(trial.status)
        values = objective_values(trial, self.objectives) if state == optuna.trial.TrialState.COMPLETE else None
        if state == optuna.trial.TrialState.COMPLETE and values is None:  # a measurement missing: nothing to learn
            state = optuna.trial.TrialState.FAIL
        excess = self.excess(trial)
        self._set_constraints(suggestion.token, excess)
        with quiet_optuna():  # Optuna logs each told trial at INFO
            self.study.tell(suggestion.token, None if values is None else self._told(values), state=state)
        cost = self.cost_model.of(trial) if self.cost_model is not None else 0.0
        if trial.status in (OK, INFEASIBLE) and values is not None:
            self.finished[_key(trial.estimator, trial.config)] = (values, cost, excess)
        if self.chooser is not None and self.cost_model is not None:
            self.chooser.update(trial.estimator, trial.loss if trial.status == OK else None, cost)


def set_constraints(trial: optuna.Trial, limits: Any, excess: list[float]) -> None:
    """Each limit's excess as an Optuna constraint of ``trial`` (feasible when every value is <= 0)."""
    for name, value in zip(limits, excess):
        trial.set_constraint(name, value)


def _key(family: str, config: dict[str, Any]) -> str:
    return f"{family} {sorted(config.items())!r}"


def _suggest(trial: optuna.Trial, name: str, p: Param) -> Any:
    if p.type == "categorical":
        return trial.suggest_categorical(name, list(p.choices or ()))
    if p.low == p.high:
        return p.low
    if p.type == "int":
        return trial.suggest_int(name, int(p.low), int(p.high), log=p.log)  # type: ignore[arg-type]
    return trial.suggest_float(name, float(p.low), float(p.high), log=p.log)  # type: ignore[arg-type]


class RandomStrategy(OptunaStrategy):
    """Uniform (log-uniform where declared) random search: Optuna's RandomSampler."""

    name = "random"

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=self.seed)


class TPEStrategy(OptunaStrategy):
    """Tree-structured Parzen estimator: Optuna's multivariate, grouped TPESampler."""

    name = "tpe"
    takes_constraints = True

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=self.seed,
                multivariate=True,
                group=True,
                n_startup_trials=max(5, len(self.families)),
                constant_liar=True,
            )
