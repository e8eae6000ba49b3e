"""Ensembles of the trials: greedy selection over out-of-fold predictions, shipped when they beat the best trial."""

from __future__ import annotations

import time

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from automl import AutoML, InputError
from automl.ensemble import EnsembleModel, select


def additive_and_interaction(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A linear part a linear model gets right and an interaction trees get right: each family half of it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    y = 3 * X.x0 + 2 * X.x1 - X.x2 + 2 * np.sin(3 * X.x3) * (X.x4 > 0) + rng.normal(0, 0.5, n)
    return X, pd.Series(y, name="y")


def fit(X: pd.DataFrame, y: pd.Series, **kwargs: object) -> AutoML:
    params = {"task": "regression", "time_budget": None, "max_trials": 12, "seed": 0, "tracking": False, "n_jobs": 1,
              "early_stop": None, "estimators": ["lr", "lgbm", "extra_trees"]}
    params.update(kwargs)
    return AutoML(**params).fit(X, y)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    X, y = additive_and_interaction()
    return X[:900], y[:900], X[900:], y[900:]


@pytest.fixture(scope="module")
def ensembled(split: tuple) -> AutoML:
    X, y, _, _ = split
    return fit(X, y)


def test_an_ensemble_beats_its_best_member_where_the_families_complement(split: tuple, ensembled: AutoML) -> None:
    X, y, X_test, y_test = split
    single = fit(X, y, ensemble=False)
    assert single.ensemble_ is None and ensembled.best_trial_.trial_id == single.best_trial_.trial_id
    members = ensembled.ensemble_
    assert members is not None and len(members) >= 2 and {m["estimator"] for m in members} >= {"lr"}
    assert sum(m["weight"] for m in members) == pytest.approx(1.0)
    assert ensembled.refit_.startswith(f"ensemble of {len(members)} trials")
    top = ensembled.leaderboard().iloc[0]
    assert top["estimator"] == "ensemble" and top["trial_id"] == -1 and top["score"] > ensembled.best_score_
    assert r2_score(y_test, ensembled.predict(X_test)) > r2_score(y_test, single.predict(X_test))
    assert ensembled.score(X_test, y_test) == pytest.approx(r2_score(y_test, ensembled.predict(X_test)))


def test_greedy_selection_weighs_complementary_predictions_and_ignores_copies() -> None:
    y = np.array([0.0, 1, 2, 3, 4, 5, 6, 7])
    high, low = y + 1.0, y - 1.0  # each off by 1; their mean is exact
    predictions = {0: high, 1: low, 2: high.copy()}

    def mse(output: np.ndarray, rows: np.ndarray | None) -> float:
        pick = slice(None) if rows is None else rows
        return float(np.mean((output[pick] - y[pick]) ** 2))

    plan = select(predictions, best=0, loss=mse, seed=0, rounds=4)
    assert plan.loss == pytest.approx(0.0) and plan.best_loss == pytest.approx(1.0) and plan.beats_best()
    assert sum(w for t, w in plan.weights.items() if t in (0, 2)) == pytest.approx(0.5)
    odd = select(predictions, best=0, loss=mse, seed=0, rounds=5)  # a fifth pick could only unbalance the blend
    assert odd.loss == pytest.approx(0.0) and odd.weights[1] == pytest.approx(0.5)  # the best round's ensemble
    alone = select({0: high, 2: high.copy()}, best=0, loss=mse, seed=0)
    assert alone.loss == pytest.approx(alone.best_loss) and not alone.beats_best()  # no gain beyond noise


def test_a_classification_ensemble_averages_probabilities(wine_strings: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = wine_strings
    m = AutoML(time_budget=None, max_trials=10, seed=0, tracking=False, n_jobs=1, early_stop=None,
               estimators=["lr", "lgbm", "rf"], ensemble=True).fit(X, y)
    assert m.ensemble_ is not None and isinstance(m.best_model_, EnsembleModel)
    proba = m.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(m.predict(X)) <= set(y) and (m.predict(X) == m.classes_[proba.argmax(axis=1)]).all()


def test_ensemble_false_and_a_bad_value(split: tuple) -> None:
    X, y, _, _ = split
    assert fit(X, y, max_trials=4, ensemble=False).leaderboard()["estimator"].iloc[0] != "ensemble"
    with pytest.raises(InputError, match=r"ensemble='stacked' is invalid; pass \"auto\""):
        fit(X, y, ensemble="stacked")


def test_the_budget_holds_with_an_ensemble(split: tuple) -> None:
    X, y, _, _ = split
    started = time.monotonic()
    m = fit(X, y, time_budget=10, max_trials=None, ensemble=True)
    assert time.monotonic() - started < 10 * 1.1 + 1.5
    assert m.time_spent_["total_s"] <= 10 * 1.1 + 1.5


def test_the_mlflow_model_serves_the_ensemble(split: tuple, tracking_uri: str, experiment: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, X_test, _ = split
    m = fit(X, y, tracking=True, tracking_uri=tracking_uri, experiment=experiment)
    assert m.ensemble_ is not None
    # the store through the environment, for this test only: mlflow.set_tracking_uri would also set it for every
    # later test and the jobs they start (it writes MLFLOW_TRACKING_URI into os.environ)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    served = mlflow.pyfunc.load_model(m.model_uri_).predict(X_test)
    np.testing.assert_allclose(np.asarray(served, dtype=float), m.predict(X_test), rtol=1e-9)
    client = mlflow.MlflowClient(tracking_uri)
    run = client.get_run(m.mlflow_run_id_)
    assert run.data.metrics["ensemble_members"] == len(m.ensemble_)
    report = open(client.download_artifacts(m.mlflow_run_id_, "report.html")).read()
    assert "Shipped: an ensemble of" in report and "over the best single trial" in report  # its composition and gain
    assert run.data.metrics["ensemble_score"] == pytest.approx(m.leaderboard().iloc[0]["score"])
