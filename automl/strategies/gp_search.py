"""Bayesian optimisation with a Gaussian-process surrogate: Optuna's ``GPSampler``, one study per family.

A Gaussian process models a fixed search space: over the joint space, where each family has parameters of
its own, Optuna's ``GPSampler`` would see only the family as a shared parameter and draw the rest at random.
So each family gets its own study and GP over its own (static) parameters, starting from its defaults, and
the cost-aware ``FamilyChooser`` picks the family of each trial (estimated costs, so a seed still fixes the
trials; without a cost model every trial counts as one unit). The GP needs PyTorch (``pip install
"automl[torch]"``, which brings greenlet for Optuna's batched acquisition search) and refits its kernel at every
ask, so an ask costs more as trials accumulate (``python -m benchmarks.strategy_ask``).

A trial stopped early is told as measured at the loss it last reported (the mean of the folds it finished, its
last epoch's): Optuna's GP learns only from completed trials, so under ASHA, which stops most trials, it would see
the survivors alone and keep proposing where the stopped ones were (TPE counts a pruned trial below every complete one).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import warnings
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import optuna

from automl.errors import InputError
from automl.optuna_logs import quiet_optuna
from automl.space import JointSpace
from automl.strategies.base import Strategy
from automl.strategies.optuna_search import _STATES, _suggest, set_constraints
from automl.study import INFEASIBLE, OK, PRUNED, Suggestion, Trial

if TYPE_CHECKING:
    from automl.constraints import Constraints
    from automl.cost import CostModel

#: Trials of a family drawn at random before its GP is fitted (Optuna's default is 10).
STARTUP_TRIALS = 5
#: Local searches (L-BFGS runs) of the acquisition function per ask, from the best of Optuna's 2,048 random
#: candidates and the best trial so far. Optuna's default 10 took about 90% of an ask (a profile at 60 trials); with
#: 3, and greenlet batching them, an ask took 146 ms at 50 trials against 496 ms before on the same day (``python -m
#: benchmarks.strategy_ask``, README), and the bundled sets' 15 s jobs ran 39% more trials at the same scores. Set
#: through Optuna's ``_n_local_search`` (Optuna 5; without it the default stands; a test checks it is there).
ACQUISITION_LOCAL_SEARCHES = 3
#: Optuna's module whose ``torch`` the ask sees through :class:`_CpuDefaultTorch` (see :func:`_no_cpu_device_mode`).
GP_SAMPLER_MODULE = "optuna.samplers._gp.sampler"


class _CpuDefaultTorch:
    """``torch``, except that ``device("cpu")`` is a null context: where the default device is the CPU already,
    entering ``torch.device("cpu")`` changes no result, only the cost of every torch call after it."""

    def __init__(self, torch: Any) -> None:
        self._torch = torch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch, name)

    def device(self, *args: Any, **kwargs: Any) -> Any:
        if args == ("cpu",) and not kwargs:
            return contextlib.nullcontext()
        return self._torch.device(*args, **kwargs)


@contextlib.contextmanager
def _no_cpu_device_mode() -> Iterator[None]:
    """Optuna's ``GPSampler`` runs each ask under ``with torch.device("cpu")`` (for processes whose default device
    is a GPU). That context is a torch function mode through which each of the ask's thousands of torch calls passes
    in Python: about a quarter of an ask's time at 50 to 200 trials (``python -m benchmarks.strategy_ask``). Where
    the default device is the CPU, the ask runs without it; elsewhere, or where Optuna's module differs, as Optuna
    wrote it."""
    import torch

    module = importlib.import_module(GP_SAMPLER_MODULE)
    original = getattr(module, "torch", None)
    if original is None or torch.get_default_device().type != "cpu":
        yield
        return
    module.torch = _CpuDefaultTorch(torch)
    try:
        yield
    finally:
        module.torch = original


class _GPSampler(optuna.samplers.GPSampler):
    """Optuna's ``GPSampler``, its relative sampling run by :func:`_no_cpu_device_mode`."""

    def sample_relative(self, study: optuna.Study, trial: Any, search_space: Any) -> dict[str, Any]:
        with _no_cpu_device_mode():
            return super().sample_relative(study, trial, search_space)


class GPStrategy(Strategy):
    """``strategy="bo"``: a GP-based Bayesian optimiser per family, families chosen by estimated cost."""

    name = "bo"

    def __init__(
        self, space: JointSpace, seed: int, families: Sequence[str] | None = None, cost_model: CostModel | None = None,
        constraints: Constraints | None = None, starts: Mapping[str, Sequence[dict[str, Any]]] | None = None,
        own_starts: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(space, seed, families, cost_model, constraints, starts=starts, own_starts=own_starts)
        self.asked: dict[tuple[str, int], optuna.Trial] = {}  # (family, Optuna trial number) -> the trial, until told
        if importlib.util.find_spec("torch") is None:
            raise InputError('strategy="bo" needs PyTorch for its Gaussian process; pip install "automl[torch]" '
                             'or pick strategy="tpe".')
        self.chooser = self.family_chooser()
        self.studies: dict[str, optuna.Study] = {}
        for index, family in enumerate(self.families):
            with quiet_optuna(), warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = _GPSampler(
                    seed=seed + index, n_startup_trials=STARTUP_TRIALS,
                    independent_sampler=optuna.samplers.RandomSampler(seed=seed + index), warn_independent_sampling=False)
                if hasattr(sampler, "_n_local_search"):
                    sampler._n_local_search = ACQUISITION_LOCAL_SEARCHES
                study = optuna.create_study(direction="minimize", sampler=sampler)
            for config in self.first_configs(family):  # its default, then its portfolio starts
                study.enqueue_trial(config)
            self.studies[family] = study

    def ask(self) -> Suggestion | None:
        family = self.chooser.choose()
        study = self.studies[family]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            trial = study.ask()
            self.asked[(family, trial.number)] = trial
            config = self.space.spaces[family].sample(lambda p: _suggest(trial, p.name, p))
        return Suggestion(family, config, token=trial.number)

    def tell(self, suggestion: Suggestion, trial: Trial) -> None:
        state = optuna.trial.TrialState.COMPLETE if trial.status == INFEASIBLE else _STATES.get(trial.status, optuna.trial.TrialState.FAIL)
        values: Any = trial.loss if state == optuna.trial.TrialState.COMPLETE else None
        if trial.status == PRUNED and trial.last_value is not None and math.isfinite(trial.last_value):
            state, values = optuna.trial.TrialState.COMPLETE, trial.last_value  # a stopped trial: see the module docstring
        asked, excess = self.asked.pop((suggestion.estimator, suggestion.token), None), self.excess(trial)
        if asked is not None and excess is not None:  # the GP models each limit's excess
            set_constraints(asked, self.constraints.limits(), excess)  # type: ignore[union-attr]
        with quiet_optuna():
            self.studies[suggestion.estimator].tell(suggestion.token, values, state=state)
        cost = self.cost_model.of(trial) if self.cost_model is not None else 1.0
        self.chooser.update(trial.estimator, trial.loss if trial.status == OK else None, cost)
