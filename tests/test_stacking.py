"""ensemble="stack" (a linear second level on the trials' out-of-fold predictions), and ensembles chosen to fit the
time left."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score
from statsforecast.utils import AirPassengersDF

from automl import AutoML, InputError
from automl.ensembling import EnsembleBuilder
from automl.problem import build_problem
from automl.stacking import StackedModel
from automl.study import Study, Suggestion
from automl.task import TaskSpec
from tests.test_ensemble import additive_and_interaction, fit


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    X, y = additive_and_interaction()
    return X[:900], y[:900], X[900:], y[900:]


def test_a_stack_combines_one_trial_per_family_and_beats_the_best_single_trial(split: tuple) -> None:
    X, y, X_test, y_test = split
    stacked = fit(X, y, ensemble="stack")
    single = fit(X, y, ensemble=False)
    assert isinstance(stacked.best_model_, StackedModel) and stacked.refit_.startswith("stack of")
    members = stacked.ensemble_
    assert members is not None and len(members) >= 2
    assert len({m["estimator"] for m in members}) == len(members)  # the best trial of each family
    assert sum(m["weight"] for m in members) == pytest.approx(1.0)
    assert stacked.leaderboard().iloc[0]["estimator"] == "ensemble"
    assert r2_score(y_test, stacked.predict(X_test)) > r2_score(y_test, single.predict(X_test))


def test_a_classification_stack_predicts_probabilities(wine_strings: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = wine_strings
    m = AutoML(time_budget=None, max_trials=10, seed=0, tracking=False, n_jobs=1, early_stop=None,
               estimators=["lr", "lgbm", "rf"], ensemble="stack").fit(X, y)
    assert isinstance(m.best_model_, StackedModel)
    proba = m.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert (m.predict(X) == m.classes_[proba.argmax(axis=1)]).all()


def test_stack_is_refused_where_it_does_not_apply() -> None:
    air = AirPassengersDF.rename(columns={"ds": "month"})
    with pytest.raises(InputError, match=r'ensemble="stack" does not apply to a forecast task; pass ensemble="auto" or True'):
        AutoML(task="forecast", ensemble="stack", time_budget=None, max_trials=1, tracking=False).fit(
            air[["month"]], air["y"], time_column="month", horizon=12)


def three_families(split: tuple) -> tuple:
    """A regression problem, its objective and a study of one finished lr, extra_trees and lgbm trial each."""
    X, y, _, _ = split
    problem = build_problem(TaskSpec("regression"), X, y, ["lr", "extra_trees", "lgbm"], None, None, 0)
    objective = problem.objective(n_jobs=1)
    study = Study(0)
    for family, config in (("lr", {"alpha": 1e-3}), ("extra_trees", {"n_estimators": 50, "max_features": 0.8, "max_leaves": 256}),
                           ("lgbm", {"n_estimators": 60, "num_leaves": 8, "learning_rate": 0.1})):
        trial = study.start(Suggestion(family, config))
        study.finish(trial, objective(trial, None))
    return problem, objective, study


def test_an_ensemble_is_chosen_among_the_trials_whose_refits_fit_the_time_left(
        split: tuple, caplog: pytest.LogCaptureFixture) -> None:
    problem, objective, study = three_families(split)
    unbounded = EnsembleBuilder(problem, study, objective, True, lambda trial: 0.01).plan(time_left=None)
    assert unbounded is not None and len(unbounded.members) >= 2
    slow = next(t for t in unbounded.members if t != study.best.trial_id)  # type: ignore[union-attr]

    def seconds(trial: object) -> float:
        return 30.0 if trial.trial_id == slow else 0.01  # type: ignore[attr-defined]

    with caplog.at_level("INFO", logger="automl.ensembling"):
        bounded = EnsembleBuilder(problem, study, objective, True, seconds).plan(time_left=5.0)
    assert f"Trial(s) [{slow}] left out of the ensemble: each one's refit alone would not fit the time left" in caplog.text
    assert bounded is None or slow not in bounded.members  # never the member whose refit does not fit


def test_members_that_refit_side_by_side_on_ray_fit_where_one_after_another_would_not(split: tuple) -> None:
    """The planner times the members' refits as the backend runs them: on two Ray workers (here before the search)
    two 3 s refits take 3 s, in turn 6 s; and the refitted models come back paired with their trials."""
    from automl.backends import BackendOptions
    from automl.backends.ray_backend import RayBackend

    problem, objective, study = three_families(split)
    members = EnsembleBuilder(problem, study, objective, True, lambda trial: 0.01).plan(time_left=None).members  # type: ignore[union-attr]
    assert len(members) >= 2

    def three_s(trial: object) -> float:
        return 3.0

    in_turn = EnsembleBuilder(problem, study, objective, True, three_s)
    on_ray = EnsembleBuilder(problem, study, objective, True, three_s, RayBackend(BackendOptions(n_concurrent_trials=2)))
    assert in_turn.seconds(members[:2]) == 6.0 and on_ray.seconds(members[:2]) == 3.0
    assert on_ray.seconds(members[:2]) == on_ray.seconds(members[:1]) < in_turn.seconds(members[:2])

    order: list[int] = []  # the plan's members: each later one slower, so refitted in the reverse order

    builder = EnsembleBuilder(problem, study, objective, True, lambda trial: order.index(trial.trial_id) + 1.0)
    plan = builder.plan(time_left=None)
    order[:] = plan.members  # type: ignore[union-attr]
    model = builder.refit(plan, None)  # type: ignore[arg-type]
    assert model is not None and model.trial_ids == plan.members  # type: ignore[union-attr]
    kinds = {"lr": "Ridge", "extra_trees": "ExtraTreesRegressor", "lgbm": "LGBMRegressor"}
    for (fitted, weight), trial_id in zip(model.members, model.trial_ids):  # type: ignore[union-attr]
        estimator = fitted.steps[-1][1] if hasattr(fitted, "steps") else fitted  # lr: scaling, then Ridge
        assert type(estimator).__name__ == kinds[study.trials[trial_id].estimator] and weight == plan.weights[trial_id]
