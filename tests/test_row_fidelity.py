"""Training rows as a fidelity: on a large holdout split CFO starts each family on a subsample and grows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from automl import AutoML
from automl import row_fidelity
from automl.records import from_run
from automl.row_fidelity import RowSampler, samples_rows
from automl.strategies import flaml_search
from automl.study import OK
from automl.tracking.mlflow_reader import job_run, trial_runs_of


def test_subsamples_are_nested_and_keep_every_class_and_its_share() -> None:
    y = np.zeros(300_000, dtype=int)
    y[:30] = 2  # a rare class: 30 rows in 300,000
    y[30:90_000] = 1
    sampler = RowSampler(y, classes=True)
    small, large = sampler.take(10_000), sampler.take(40_000)
    assert len(small) == 10_000 and np.isin(small, large).all()  # nested: the larger holds the smaller
    for rows in (small, large):
        counts = np.bincount(y[rows], minlength=3)
        assert counts[2] >= 1 and counts[1] / len(rows) == pytest.approx(0.3, abs=0.001)
    values = RowSampler(np.arange(1000.0), classes=False).take(100)
    assert len(np.unique(values)) == 100 and values.max() > 500  # a random draw, not the first rows


def test_only_one_large_holdout_fold_of_exchangeable_rows_is_sampled() -> None:
    assert samples_rows(40_001, 1, True)
    assert not samples_rows(40_000, 1, True)  # fewer than 4 x the smallest sample: every trial fits all rows
    assert not samples_rows(500_000, 5, True)  # cross-validation: folds are the fidelity there
    assert not samples_rows(500_000, 1, False)  # a series' steps or a query's documents are not exchangeable


@pytest.fixture
def small_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows thresholds of a large table, scaled down to a table a test fits in seconds."""
    monkeypatch.setattr(flaml_search, "MIN_ROWS", 100)
    monkeypatch.setattr(row_fidelity, "MIN_TRAIN_ROWS", 400)


def test_cfo_starts_on_a_sample_and_ships_a_refit_on_all_rows(small_samples: None, tracking_uri: str) -> None:
    X, y = make_classification(n_samples=3_000, n_features=12, n_informative=6, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(12)])
    m = AutoML(estimators=["lr"], eval_method="holdout", strategy="cfo", max_trials=16, time_budget=None,
               seed=0, n_jobs=1, tracking_uri=tracking_uri, experiment="row-fidelity").fit(X, pd.Series(y))
    trials = m.study_.trials
    train_rows = 2_400  # 3,000 rows, a fifth held out
    sampled = [t for t in trials if t.rows is not None]
    assert sampled and all(100 <= t.rows < train_rows for t in sampled)
    assert trials[0].rows == 100  # the search starts on the smallest sample (its growth: the test below)
    assert m.refit_.startswith(("all rows", "ensemble"))  # no time budget: the shipped model fits every row
    board = m.leaderboard()
    assert "rows" in board.columns and board["rows"].notna().any()
    client, parent = job_run(m.mlflow_run_id_, tracking_uri)
    runs = trial_runs_of(client, parent)
    recorded = {int(r.data.tags["automl.trial_id"]): from_run(r, None, True).rows for r in runs}
    assert recorded == {t.trial_id: t.rows for t in trials}  # the subsample is in MLflow and reads back


def test_cfo_grows_a_family_s_sample_once_its_search_settles(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """Told the same loss and cost for every trial (nothing improves), CFO moves to 4x the rows, up to all of them
    (None); deterministic, unlike a real job's measured costs."""
    from automl.problem import build_problem
    from automl.records import Trial
    from automl.strategies.flaml_search import CFOStrategy
    from automl.task import make_task

    X, y = breast_cancer
    problem = build_problem(make_task("classification", eval_method="holdout"), X, y, ["lr"], None, None, 0)
    strategy = CFOStrategy(problem.space, 0)
    assert strategy.sample_rows(200_000)
    rows = []
    for trial_id in range(40):
        suggestion = strategy.ask()
        if suggestion is None:  # lr's small space: its searches have converged
            break
        rows.append(suggestion.rows)
        trial = Trial(trial_id, "lr", suggestion.config, 0, status=OK, score=0.9, loss=-0.9, duration_s=1.0)
        strategy.tell(suggestion, trial)
    assert rows[0] == flaml_search.MIN_ROWS == 10_000
    assert 40_000 in rows and rows.index(40_000) > 0  # grown 4x once the search settled on 10,000 rows


def test_a_sampled_trial_s_refit_is_expected_to_take_longer_by_all_rows_over_its_rows(
        breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    from automl.backends import BackendOptions
    from automl.budget import Budget
    from automl.problem import build_problem
    from automl.study import Suggestion, TrialResult
    from automl.task import make_task
    from automl.tracking import Tracker
    from automl.tuning import REFIT_MARGIN, JobRunner, JobSettings

    X, y = breast_cancer
    problem = build_problem(make_task("classification", eval_method="holdout"), X, y, ["lr"], None, None, 0)
    runner = JobRunner(problem, JobSettings("cfo", "none", "inprocess", BackendOptions(), 1), Budget(20.0), Tracker(), [])
    config = problem.space.spaces["lr"].default_config()
    for rows in (None, 50):
        trial = runner.study.start(Suggestion("lr", config, rows=rows))
        runner.study.finish(trial, TrialResult(OK, 0.9, -0.9, fit_time_s=1.0))
    whole, sampled = runner.study.trials
    assert runner.refit_estimate(whole) == pytest.approx(len(X) / runner.objective.train_rows * REFIT_MARGIN)
    assert runner.refit_estimate(sampled) == pytest.approx(len(X) / 50 * REFIT_MARGIN)


@pytest.mark.parametrize("budget", [20.0, 3.0])
def test_a_sampled_best_whose_refit_on_all_rows_does_not_fit_is_refitted_on_the_rows_that_do(
        breast_cancer: tuple[pd.DataFrame, pd.Series], budget: float) -> None:
    """Its pace (5 s for 50 rows) says how many rows the time left fits: more than it fitted, a refit on them;
    fewer, its validation-fold model."""
    from automl.backends import BackendOptions
    from automl.budget import Budget
    from automl.problem import build_problem
    from automl.study import Suggestion, TrialResult
    from automl.task import make_task
    from automl.tracking import Tracker
    from automl.tuning import JobRunner, JobSettings

    X, y = breast_cancer
    problem = build_problem(make_task("classification", eval_method="holdout"), X, y, ["lr"], None, None, 0)
    runner = JobRunner(problem, JobSettings("cfo", "none", "inprocess", BackendOptions(), 1), Budget(budget), Tracker(), [])
    fold_model = object()
    trial = runner.study.start(Suggestion("lr", problem.space.spaces["lr"].default_config(), rows=50))
    runner.study.finish(trial, TrialResult(OK, 0.9, -0.9, fit_time_s=5.0, model=fold_model))
    shipped, model, refit, fold = runner.refit()
    if budget == 20.0:  # about 20 s / (5 s / 50 rows x 1.3): some 150 of the 569 rows
        rows = int(refit.split(" of ")[0])
        assert 100 < rows < len(X) and refit.endswith(f"of the {len(X)} rows (all of them did not fit the time left)")
        assert fold is None and model is not fold_model and model.predict(problem.all_rows.X).shape == (len(X),)
    else:
        assert (refit, fold, model) == ("validation-fold model", -1, fold_model)
