"""The contract every registered strategy keeps, on synthetic spaces with known optima."""

from __future__ import annotations

import math

import numpy as np
import pytest

from automl import InputError
from automl.cost import CostModel, FitShape
from automl.estimators import EstimatorAdapter, get_adapter
from automl.space import JointSpace, parse_space
from automl.strategies import STRATEGIES, resolve_strategy_name
from automl.strategies.family_choice import FamilyChooser
from automl.study import FAILED, OK, PRUNED, Study, Trial, TrialResult

QUADRATIC = parse_space(
    {
        "params": {
            "x": {"type": "float", "low": -5.0, "high": 5.0, "default": 0.0},
            "y": {"type": "float", "low": -5.0, "high": 5.0, "default": 0.0},
            "n": {"type": "int", "low": 1, "high": 1000, "log": True, "default": 10},
            "kind": {"type": "categorical", "choices": ["a", "b"], "default": "a"},
        }
    },
    source="quadratic",
    family="quad",
).for_task("classification", {"n_rows": 1, "n_features": 1, "n_classes": 2})
SMALL = parse_space({"params": {"k": {"type": "int", "low": 1, "high": 3, "default": 2}}}, "small", "tiny").for_task(
    "classification", {}
)
SPACE = JointSpace({"quad": QUADRATIC, "tiny": SMALL})
# (strategy, trials, distance): each strategy gets within `distance` of the optimum (1, -2) in `trials` trials.
QUALITY = {"tpe": (80, 0.6), "bo": (40, 0.6), "random": (80, 1.6), "grid": (40, 0.0), "cfo": (80, 1.0), "blendsearch": (80, 0.6)}


def loss_of(family: str, config: dict) -> float:
    if family == "tiny":
        return 100.0 + config["k"]
    extra = (0 if config.get("kind", "b") == "b" else 0.5) + abs(math.log10(config.get("n", 100)) - 2)
    return (config["x"] - 1) ** 2 + (config["y"] + 2) ** 2 + extra


class SyntheticFamily(EstimatorAdapter):
    """Cost terms of the synthetic families: "n" units of work per trial ("k" for tiny)."""

    name = "synthetic"
    cost_coefficients = {"fit": 0.01, "work": 1e-4}

    def cost_terms(self, config: dict, shape: FitShape) -> dict[str, float]:
        return {"fit": 1.0, "work": float(config.get("n", config.get("k", 1)))}


def cost_model_for(space: JointSpace) -> CostModel:
    """What AutoML.fit hands every strategy: a deterministic cost estimate per family."""
    return CostModel({family: SyntheticFamily() for family in space.families}, FitShape(1000, 10, 2))


def run(name: str, trials: int, space: JointSpace = SPACE, seed: int = 0, fail_every: int = 0,
        loss: object = None, jitter: int | None = None, starts: dict | None = None) -> Study:
    """Ask/tell ``trials`` times; ``jitter`` seeds random factors on the durations (a noisy machine's measurements);
    ``starts`` are portfolio starting configurations per family."""
    noise = None if jitter is None else np.random.default_rng(jitter)
    strategy = STRATEGIES.get(name)(space, seed, space.families, cost_model=cost_model_for(space),
                                    **({"starts": starts} if starts else {}))
    loss_fn = loss or loss_of
    study = Study(seed)
    for i in range(trials):
        suggestion = strategy.ask()
        if suggestion is None:
            break
        trial = study.start(suggestion)
        if fail_every and i % fail_every == 1:
            result = TrialResult(FAILED, error="boom")
        elif fail_every and i % fail_every == 2:
            result = TrialResult(OK, score=math.nan, loss=math.nan)
        else:
            value = loss_fn(suggestion.estimator, suggestion.config)  # type: ignore[operator]
            result = TrialResult(OK, score=value, loss=value)
        study.finish(trial, result)
        trial.duration_s = synthetic_cost(suggestion.estimator, suggestion.config)  # measured costs vary; these do not
        if noise is not None:
            trial.duration_s *= noise.uniform(0.2, 5.0)
        strategy.tell(suggestion, trial)
    return study


def trials_for(name: str, n: int) -> int:
    """``n`` trials, about half for bo: a GP's ask costs 0.1-0.4 s here and grows with the trials it has seen."""
    return n // 2 + 2 if name == "bo" else n


def synthetic_cost(family: str, config: dict) -> float:
    return 0.01 * (1 + config.get("n", config.get("k", 1)) / 100)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_suggestions_stay_inside_the_space(name: str) -> None:
    study = run(name, trials_for(name, 40))
    assert study.trials
    for trial in study.trials:
        assert SPACE.contains(trial.estimator, trial.config), trial


#: Layers of a network: ``w2`` exists only with two layers or more, ``w3`` with three, ``slope`` only for kind "b".
CONDITIONAL = JointSpace({"net": parse_space({"params": {
    "depth": {"type": "int", "low": 1, "high": 3, "default": 1},
    "w1": {"type": "int", "low": 1, "high": 64, "log": True, "default": 8},
    "w2": {"type": "int", "low": 1, "high": 64, "log": True, "default": 8, "condition": "depth >= 2"},
    "w3": {"type": "int", "low": 1, "high": 64, "log": True, "default": 8, "condition": "depth >= 3"},
    "kind": {"type": "categorical", "choices": ["a", "b"], "default": "a"},
    "slope": {"type": "float", "low": 0.0, "high": 1.0, "default": 0.5, "condition": "kind == 'b' and depth > 1"},
}}, "conditional", "net").for_task("classification", {})})


def conditional_loss(family: str, config: dict) -> float:
    """Best with two layers of 16 and kind b at slope 0.25."""
    widths = [config[f"w{k}"] for k in range(1, config["depth"] + 1)]
    return (abs(config["depth"] - 2) + sum(abs(math.log2(w) - 4) for w in widths)
            + (abs(config["slope"] - 0.25) if "slope" in config else 1.0))


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_conditional_parameters_exist_only_where_their_conditions_hold(name: str) -> None:
    """Every suggestion has exactly its active parameters: no width of a layer the network lacks."""
    n = trials_for(name, 30)
    study = run(name, n, space=CONDITIONAL, loss=conditional_loss)
    assert len(study.trials) == n
    for trial in study.trials:
        assert CONDITIONAL.contains("net", trial.config), trial.config
    assert study.trials[0].config == {"depth": 1, "w1": 8, "kind": "a"} or name in ("cfo", "blendsearch")
    keys = {tuple(sorted(t.config)) for t in study.trials}
    # both sides of the conditions were drawn (CFO's local search from the low-cost point keeps a small integer's start)
    assert len(keys) >= {"grid": 2, "cfo": 1}.get(name, 3), keys
    assert len({repr(sorted(t.config.items())) for t in study.trials}) == n or name != "grid"  # no point twice


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_starts_from_each_familys_defaults(name: str) -> None:
    first = run(name, 2).trials
    assert [(t.estimator, t.config) for t in first] == [(f, SPACE.spaces[f].default_config()) for f in SPACE.families]


#: Portfolio starts (automl.portfolio): the optimum of quad, a point near it, and tiny's best.
STARTS = {"quad": [{"x": 1.0, "y": -2.0, "n": 100, "kind": "b"}, {"x": 0.5, "y": -1.0, "n": 50, "kind": "b"}],
          "tiny": [{"k": 1}]}


@pytest.mark.parametrize("name", [n for n in STRATEGIES.names() if n != "grid"])
def test_portfolio_starts_come_after_each_familys_first_point_and_before_its_own_draws(name: str) -> None:
    """Each family's trials begin with its default (CFO and BlendSearch: its low-cost point), then its starts in
    order; the search goes on from there (a seed still fixes the trials)."""
    study = run(name, trials_for(name, 16), starts=STARTS)
    for family, starts in STARTS.items():
        configs = [t.config for t in study.trials if t.estimator == family]
        first = (SPACE.spaces[family].low_cost_config() if name in ("cfo", "blendsearch")
                 else SPACE.spaces[family].default_config())
        assert configs[:1 + len(starts)] == [first, *starts], (family, configs[:4])
    assert min(t.loss for t in study.trials) == pytest.approx(0.0)  # the optimum, given as a start
    again = run(name, trials_for(name, 16), starts=STARTS)
    assert [(t.estimator, t.config) for t in again.trials] == [(t.estimator, t.config) for t in study.trials]


def test_grid_ignores_portfolio_starts() -> None:
    assert [t.config for t in run("grid", 12, starts=STARTS).trials] == [t.config for t in run("grid", 12).trials]


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_same_seed_same_trials(name: str) -> None:
    """Same seed and same observations (losses and costs) give the same trials."""
    a, b = run(name, trials_for(name, 25), seed=3), run(name, trials_for(name, 25), seed=3)
    assert [(t.estimator, t.config) for t in a.trials] == [(t.estimator, t.config) for t in b.trials]


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_failed_and_nan_trials_do_not_stop_or_win(name: str) -> None:
    study = run(name, 30, fail_every=3)
    assert study.count(FAILED) >= 18  # the NaN ones count as failures too
    assert study.best is not None and math.isfinite(study.best.loss)
    assert any("non-finite" in (t.error or "") for t in study.trials)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_gets_near_the_known_optimum(name: str) -> None:
    trials, distance = QUALITY[name]
    space = JointSpace({"quad": QUADRATIC})
    if name == "grid":
        centred = parse_space(
            {"params": {"x": {"type": "float", "low": -3.0, "high": 5.0, "default": -3.0},
                        "y": {"type": "float", "low": -2.0, "high": 5.0, "default": 5.0}}},
            "grid-quad", "quad",
        ).for_task("classification", {})
        best = run(name, trials, JointSpace({"quad": centred})).best
        assert best is not None and math.dist((best.config["x"], best.config["y"]), (1, -2)) <= distance
        return
    best = run(name, trials, space).best
    assert best is not None
    assert math.dist((best.config["x"], best.config["y"]), (1, -2)) <= distance, best.config


def test_grid_exhausts_cleanly() -> None:
    study = run("grid", 1000, JointSpace({"tiny": SMALL}))
    assert [t.config["k"] for t in study.trials] == [2, 1, 3]


def test_unknown_strategy_lists_auto_too() -> None:
    with pytest.raises(InputError, match='Unknown strategy "tpee".*Did you mean "tpe".*auto'):
        resolve_strategy_name("tpee")
    assert resolve_strategy_name("auto", 500, 30, 60)[0] == "tpe"
    assert resolve_strategy_name("auto", 200_000, 50, 60) == ("cfo", "200000 x 50 data is large for a 60s budget")
    assert resolve_strategy_name("random", 200_000, 50, 60) == ("random", "chosen by the user")


@pytest.mark.parametrize("name", ["cfo", "blendsearch"])
def test_flaml_strategies_start_at_the_low_cost_point(name: str) -> None:
    costly = parse_space(
        {"params": {"trees": {"type": "int", "low": 4, "high": 4096, "log": True, "default": 100, "low_cost": 4},
                    "rate": {"type": "float", "low": 0.01, "high": 1.0, "log": True, "default": 0.1}}},
        "costly", "boost",
    ).for_task("classification", {})
    strategy = STRATEGIES.get(name)(JointSpace({"boost": costly}), 0, ["boost"])
    first = strategy.ask()
    assert first is not None and first.config == {"trees": 4, "rate": 0.1}


@pytest.mark.parametrize("name", [n for n in STRATEGIES.names() if n != "grid"])  # the grid visits its points
def test_costly_stalled_family_gets_few_trials(name: str) -> None:
    """"slow" starts ahead of "fast" but never improves, and costs about 10x more per trial."""
    fixed_n = parse_space({"params": {"n": {"type": "int", "low": 5000, "high": 5000, "default": 5000},
                                      "x": {"type": "float", "low": -5.0, "high": 5.0, "default": 0.0}}},
                          "slow", "slow").for_task("classification", {})
    space = JointSpace({"fast": QUADRATIC, "slow": fixed_n})

    def loss(family: str, config: dict) -> float:
        return 6.0 if family == "slow" else loss_of("quad", config)

    study = run(name, 40 if name == "bo" else 80, space, loss=loss)  # a GP's ask grows with the trials it has seen
    slow = sum(t.estimator == "slow" for t in study.trials)
    assert slow < 0.2 * len(study.trials), slow


@pytest.mark.parametrize("name", ["tpe", "random"])
def test_estimated_costs_keep_a_seed_reproducible(name: str) -> None:
    """The family choice under TPE/random never sees measured seconds: runs with other durations repeat the trials."""
    first = run(name, 40, seed=5, jitter=1)
    second = run(name, 40, seed=5, jitter=2)
    assert [t.duration_s for t in first.trials] != [t.duration_s for t in second.trials]
    assert [(t.estimator, t.config) for t in first.trials] == [(t.estimator, t.config) for t in second.trials]
    assert {t.estimator for t in first.trials} == {"quad", "tiny"}


class SyntheticBoosting(SyntheticFamily):
    rounds_param = "n_estimators"


def test_bo_learns_from_a_trial_stopped_early_at_the_loss_it_last_reported() -> None:
    """Optuna's GP learns from completed trials only: under ASHA it would see the survivors alone. A stopped trial
    is told at its last reported loss; one stopped before any report is no measurement."""
    import optuna

    strategy = STRATEGIES.get("bo")(SPACE, 0, SPACE.families, cost_model=cost_model_for(SPACE))
    study = Study(0)
    told = []
    for intermediate in ([(1, 7.5), (2, 7.25)], []):
        suggestion = strategy.ask()
        trial = study.start(suggestion)
        study.finish(trial, TrialResult(PRUNED, error="stopped by asha", intermediate=intermediate))
        strategy.tell(suggestion, trial)
        told.append(strategy.studies[suggestion.estimator].trials[suggestion.token])
    assert told[0].state == optuna.trial.TrialState.COMPLETE and told[0].value == 7.25
    assert told[1].state == optuna.trial.TrialState.PRUNED and told[1].value is None


def test_bo_searches_its_acquisition_function_in_one_batch_of_few_local_searches() -> None:
    """An ask's time is mostly the acquisition function's local searches: Optuna runs them as one batch only with
    greenlet (the torch extra's), and bo runs fewer than Optuna's 10; a renamed knob in a new Optuna fails here
    instead of leaving every ask three times slower."""
    from optuna._gp import batched_lbfgsb

    from automl.strategies.gp_search import ACQUISITION_LOCAL_SEARCHES

    strategy = STRATEGIES.get("bo")(SPACE, 0, SPACE.families)
    assert batched_lbfgsb._greenlet_imports.is_successful()
    assert {s.sampler._n_local_search for s in strategy.studies.values()} == {ACQUISITION_LOCAL_SEARCHES}


def asked_under_torch_modes(sampler_type: type, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many torch function modes were active each time a GP sampler of ``sampler_type`` computed an ask (bo's
    strategy on the quadratic family, 8 trials: 5 at random, then 3 from the GP)."""
    import optuna
    import torch

    from automl.strategies import gp_search

    modes: list[int] = []
    compute = optuna.samplers.GPSampler._sample_relative_impl

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        modes.append(torch._C._len_torch_function_stack())
        return compute(self, *args, **kwargs)

    monkeypatch.setattr(optuna.samplers.GPSampler, "_sample_relative_impl", spy)
    monkeypatch.setattr(gp_search, "_GPSampler", sampler_type)
    space = JointSpace({"quad": QUADRATIC})
    strategy, study = STRATEGIES.get("bo")(space, 0, ["quad"]), Study(0)
    for _ in range(8):
        suggestion = strategy.ask()
        trial = study.start(suggestion)
        value = float(sum(v for v in trial.config.values() if isinstance(v, (int, float))))
        study.finish(trial, TrialResult(OK, value, value))
        strategy.tell(suggestion, trial)
    return modes


def test_bo_asks_without_torch_s_cpu_device_mode_where_the_cpu_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Optuna's GPSampler enters ``torch.device("cpu")``, a mode every torch call of the ask then passes through in
    Python (about a quarter of an ask's time); bo's sampler leaves it out where the CPU is the default device. A new
    Optuna that moves it fails here instead of leaving every ask slower."""
    import optuna

    from automl.strategies import gp_search

    bo_sampler = gp_search._GPSampler
    assert asked_under_torch_modes(optuna.samplers.GPSampler, monkeypatch) == [1, 1, 1]  # what the spy sees in Optuna's
    assert asked_under_torch_modes(bo_sampler, monkeypatch) == [0, 0, 0]


def test_pruned_trials_cost_the_share_they_ran() -> None:
    families = {"boost": SyntheticBoosting()}
    holdout, folds = CostModel(families, FitShape(100, 5)), CostModel(families, FitShape(100, 5), n_fits=5)
    trial = Trial(0, "boost", {"n": 100, "n_estimators": 64}, 0, status=PRUNED, intermediate=[(4, 0.5), (16, 0.4)])
    assert holdout.of(trial) == pytest.approx(holdout.estimate("boost", trial.config) * 16 / 64)
    trial.intermediate = [(1, 0.5), (2, 0.4)]  # folds are the steps under cross-validation
    assert folds.of(trial) == pytest.approx(folds.estimate("boost", trial.config) * 2 / 5)
    trial.status = OK
    assert folds.of(trial) == pytest.approx(5 * (0.01 + 1e-4 * 100))
    network = CostModel({"mlp": get_adapter("mlp")}, FitShape(100, 5, 2))  # epochs are the network's steps
    config = {"epochs": 64, "hidden_units": 32, "n_layers": 2, "batch_size": 32}
    epochs = Trial(1, "mlp", config, 0, status=PRUNED, intermediate=[(4, 0.6), (16, 0.5)])
    assert network.of(epochs) == pytest.approx(network.estimate("mlp", config) * 16 / 64)


def test_family_choice_is_cost_aware() -> None:
    chooser = FamilyChooser(["fast", "slow"], seed=0)
    assert chooser.choose() == "fast"  # untried families go first, cheapest first
    chooser.update("fast", 0.30, 0.1)
    assert chooser.choose() == "slow"
    chooser.update("slow", 0.50, 5.0)
    drawn = []
    for i in range(200):
        family = chooser.choose()
        drawn.append(family)
        if family == "fast":
            chooser.update("fast", 0.30 - 0.0001 * i, 0.1)
        else:
            chooser.update("slow", 0.50, 5.0)  # slow and never improving
    assert drawn.count("slow") < 0.15 * len(drawn)


def test_a_familys_portfolio_start_runs_before_the_cost_aware_draws() -> None:
    """First points: every family's default (cheapest first), then one portfolio start each, then ECI's draws."""
    chooser = FamilyChooser(["fast", "slow", "plain"], seed=0, first_points={"fast": 3, "slow": 2})
    order = []
    for _ in range(5):
        order.append(chooser.choose())
        chooser.update(order[-1], 0.3 if order[-1] == "fast" else 0.9, 0.1)
    assert order[:5] == ["fast", "slow", "plain", "fast", "slow"]  # at most one start each goes first
    assert chooser.first_points == {"fast": 2, "slow": 2, "plain": 1}


def test_a_familys_own_starts_run_at_its_turn_right_after_its_default() -> None:
    """A baseline's variants (``leading``: its default and its own starts) go before the next family's default;
    a portfolio start still waits for the first round to end."""
    chooser = FamilyChooser(["base", "slow", "plain"], seed=0, first_points={"base": 3, "slow": 2}, leading={"base": 3})
    order = []
    for _ in range(6):
        order.append(chooser.choose())
        chooser.update(order[-1], 0.3, 0.1)
    assert order[:5] == ["base", "base", "base", "slow", "plain"]
    assert order[5] == "slow"  # its portfolio start
    assert chooser.first_points == {"base": 3, "slow": 2, "plain": 1}


@pytest.mark.parametrize("name", ["tpe", "random"])
def test_a_small_space_is_not_sampled_again_and_again(name: str) -> None:
    """ "tiny" has three configurations: a finished one is told again instead of being handed out, so the
    trials go to "quad" once "tiny" is exhausted."""
    study = run(name, 30)
    tiny = [t.config["k"] for t in study.trials if t.estimator == "tiny"]
    assert sorted(set(tiny)) == sorted(tiny)  # each of its configurations at most once
    assert sum(t.estimator == "quad" for t in study.trials) >= 27
