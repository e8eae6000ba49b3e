"""Training rows as a fidelity: a large holdout trial fits nested subsamples first, and the scheduler may stop it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from automl import AutoML
from automl import row_fidelity
from automl.row_fidelity import GROWTH, SMALLEST_ROWS, row_stages
from automl.study import OK, PRUNED


def test_subsamples_grow_nested_from_the_smallest_and_keep_every_class() -> None:
    y = np.zeros(300_000, dtype=int)
    y[:30] = 2  # a rare class: 30 rows in 300,000
    y[30:90_000] = 1
    stages = row_stages(y, classes=True)
    sizes = [len(s.rows) for s in stages]
    assert [s.step for s in stages] == [GROWTH ** k for k in range(len(stages))] and len(stages) == 3
    assert SMALLEST_ROWS <= sizes[0] < GROWTH * SMALLEST_ROWS and sizes[-1] < len(y)
    assert all(abs(b - GROWTH * a) <= 3 for a, b in zip(sizes, sizes[1:]))  # each class rounded once
    for small, large in zip(stages, stages[1:]):
        assert np.isin(small.rows, large.rows).all()  # nested: a larger subsample holds the smaller one
    for stage in stages:
        counts = np.bincount(y[stage.rows], minlength=3)
        assert counts[2] >= 1 and counts[1] / len(stage.rows) == pytest.approx(0.3, abs=0.001)
    assert row_stages(np.arange(40_000.0), classes=False) == []  # a fold this small fits all its rows at once


@pytest.fixture
def small_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows thresholds of a large table, scaled down to a table a test fits in seconds."""
    monkeypatch.setattr(row_fidelity, "MIN_TRAIN_ROWS", 2_000)
    monkeypatch.setattr(row_fidelity, "SMALLEST_ROWS", 300)


def _table() -> tuple[pd.DataFrame, pd.Series]:
    X, y = make_classification(n_samples=4_000, n_features=12, n_informative=6, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(12)]), pd.Series(y, name="y")


def test_a_large_holdout_job_steps_on_training_rows_and_asha_stops_trials_on_subsamples(small_stages: None) -> None:
    X, y = _table()
    m = AutoML(estimators=["lgbm"], eval_method="holdout", early_stop="asha", strategy="random", max_trials=12,
               time_budget=None, seed=0, n_jobs=1, ensemble=False, tracking=False).fit(X, y)
    trials = m.study_.trials
    steps = {step for t in trials for step, _ in t.intermediate}
    assert steps == {1, 3}  # 3,200 training rows: subsamples of 355 and 1,066, then all (no boosting rounds)
    pruned = [t for t in trials if t.status == PRUNED]
    assert pruned and all("training rows" in t.error for t in pruned)
    finished = [t for t in trials if t.status == OK]
    assert finished and all([s for s, _ in t.intermediate] == [1, 3] for t in finished)
    assert m.refit_ == "all rows" and m.score(X, y) > 0.9


def test_families_without_rounds_are_stopped_on_subsamples_and_not_without_a_scheduler(small_stages: None) -> None:
    X, y = _table()
    settings = dict(estimators=["lr"], eval_method="holdout", strategy="random", max_trials=8, time_budget=None, seed=0,
                    n_jobs=1, ensemble=False, tracking=False)
    staged = AutoML(early_stop="asha", **settings).fit(X, y)
    assert any(t.status == PRUNED for t in staged.study_.trials)  # a linear model reports no rounds, yet is stopped
    whole = AutoML(early_stop=None, **settings).fit(X, y)
    assert all(t.status == OK and not t.intermediate for t in whole.study_.trials)
